/// Elementwise arithmetic and functions with NumPy broadcasting.
extension Tensor {
  /// Applies `transform` to every scalar.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  @inline(__always)
  public func map(_ transform: (Scalar) -> Scalar) -> Tensor {
    Tensor(uncheckedShape: shape, scalars: scalars.map(transform))
  }

  /// Combines two tensors elementwise after broadcasting them to a common shape.
  ///
  /// - Parameters:
  ///   - a: The first operand.
  ///   - b: The second operand.
  ///   - operation: Named in the precondition message when the shapes do not broadcast.
  ///   - combine: Computes one result element from one element of each operand.
  /// - Precondition: the shapes broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  @inline(__always)
  public static func zip(
    _ a: Tensor, _ b: Tensor, operation: String = "zip", _ combine: (Scalar, Scalar) -> Scalar
  ) -> Tensor {
    if a.shape == b.shape {
      let result = a.scalars.withUnsafeBufferPointer { x in
        b.scalars.withUnsafeBufferPointer { y in
          [Scalar](unsafeUninitializedCapacity: x.count) { out, initialized in
            for i in 0..<x.count { out[i] = combine(x[i], y[i]) }
            initialized = x.count
          }
        }
      }
      return Tensor(uncheckedShape: a.shape, scalars: result)
    }
    if b.scalars.count == 1 && b.rank <= a.rank {
      let y = b.scalars[0]
      return Tensor(uncheckedShape: a.shape, scalars: a.scalars.map { combine($0, y) })
    }
    if a.scalars.count == 1 && a.rank <= b.rank {
      let x = a.scalars[0]
      return Tensor(uncheckedShape: b.shape, scalars: b.scalars.map { combine(x, $0) })
    }
    let shape = broadcastShape(a.shape, b.shape, operation: operation)
    let stridesA = broadcastStrides(of: a.shape, toRank: shape.count)
    let stridesB = broadcastStrides(of: b.shape, toRank: shape.count)
    var result = [Scalar]()
    result.reserveCapacity(shape.reduce(1, *))
    a.scalars.withUnsafeBufferPointer { x in
      b.scalars.withUnsafeBufferPointer { y in
        forEachRow(shape: shape, strides: stridesA, stridesB) { offA, strideA, offB, strideB, count in
          for j in 0..<count { result.append(combine(x[offA + j * strideA], y[offB + j * strideB])) }
        }
      }
    }
    return Tensor(uncheckedShape: shape, scalars: result)
  }

  /// Elementwise sum with broadcasting.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "+", +) }
  /// Elementwise difference with broadcasting.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "-", -) }
  /// Elementwise product with broadcasting.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "*", *) }
  /// Elementwise quotient with broadcasting.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "/", /) }

  /// Adds a scalar to every element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 + rhs } }
  /// Adds a scalar to every element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs + $0 } }
  /// Subtracts a scalar from every element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 - rhs } }
  /// Subtracts every element from a scalar.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
  /// Multiplies every element by a scalar.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 * rhs } }
  /// Multiplies every element by a scalar.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
  /// Divides every element by a scalar.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 / rhs } }
  /// Divides a scalar by every element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs / $0 } }
  /// Negates every element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }

  /// Adds `rhs` (broadcast) in place.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }
  /// Subtracts `rhs` (broadcast) in place.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func -= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs - rhs }
  /// Multiplies by `rhs` (broadcast) in place.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func *= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs * rhs }

  /// `true` when every scalar is finite (no NaN, no ±infinity).
  public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}

/// Elementwise functions on tensors, named like their scalar counterparts.
extension Tensor {
  /// e^x elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func exp() -> Tensor { map(Scalar.exp) }
  /// Natural logarithm elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func log() -> Tensor { map(Scalar.log) }
  /// Square root elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func squareRoot() -> Tensor { map { $0.squareRoot() } }
  /// Hyperbolic tangent elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func tanh() -> Tensor { map(Scalar.tanh) }
  /// Each element raised to `exponent`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func pow(_ exponent: Scalar) -> Tensor {
    if exponent == 2 { return map { $0 * $0 } }
    return map { Scalar.pow($0, exponent) }
  }
  /// Absolute value elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func abs() -> Tensor { map { Swift.abs($0) } }
  /// The logistic function 1 / (1 + e^−x), evaluated without overflow for large |x|.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sigmoid() -> Tensor { map(Tensor.sigmoid) }
  /// max(x, 0) elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func relu() -> Tensor { map { $0 > 0 ? $0 : 0 } }
  /// log(1 + e^x) elementwise, evaluated as max(x, 0) + log1p(e^−|x|) so it never overflows.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func softplus() -> Tensor {
    map { x in Swift.max(x, 0) + Scalar.log1p(Scalar.exp(-Swift.abs(x))) }
  }
  /// 1 where `predicate` holds for the element, 0 elsewhere.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mask(where predicate: (Scalar) -> Bool) -> Tensor { map { predicate($0) ? 1 : 0 } }

  /// The stable scalar logistic function.
  @inlinable static func sigmoid(_ x: Scalar) -> Scalar {
    if x >= 0 { return 1 / (1 + Scalar.exp(-x)) }
    let e = Scalar.exp(x)
    return e / (1 + e)
  }
}
