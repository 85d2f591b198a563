import BackpropKernels

/// Elementwise arithmetic and functions with NumPy broadcasting.
extension Tensor {
  /// Applies `transform` to every scalar.
  ///
  /// Inlinable, so that `transform` is inlined into the loop (and the loop vectorised) in the
  /// caller's module as well.
  @inlinable
  public func map(_ transform: (Scalar) -> Scalar) -> Tensor {
    if case .single(let rank, let scalar) = contents {
      return Tensor(rank: rank, single: transform(Scalar(scalar)))
    }
    let result = withUnsafeBufferPointer { x in
      Tensor.makeBuffer(count: x.count) { out in
        for i in 0..<x.count { out[i] = transform(x[i]) }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
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
    if a.hasSameShape(as: b) {
      if case .single(let rank, let x) = a.contents {
        return Tensor(rank: rank, single: combine(Scalar(x), b.single))
      }
      let result = a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
          makeBuffer(count: x.count) { out in
            for i in 0..<x.count { out[i] = combine(x[i], y[i]) }
          }
        }
      }
      return Tensor(uncheckedShape: a.shape, buffer: result)
    }
    if b.isSingle && b.rank <= a.rank {
      let y = b.single
      return a.map { combine($0, y) }
    }
    if a.isSingle && a.rank <= b.rank {
      let x = a.single
      return b.map { combine(x, $0) }
    }
    let (shapeA, shapeB) = (a.shape, b.shape)
    let shape = broadcastShape(shapeA, shapeB, operation: operation)
    let stridesA = broadcastStrides(of: shapeA, toRank: shape.count)
    let stridesB = broadcastStrides(of: shapeB, toRank: shape.count)
    let total = shape.reduce(1, *)
    let result = a.withUnsafeBufferPointer { x in
      b.withUnsafeBufferPointer { y in
        makeBuffer(count: total) { out in
          // Every operand holds a scalar here (an empty operand broadcasts to an empty result).
          guard let outBase = out.baseAddress, let xBase = x.baseAddress, let yBase = y.baseAddress else {
            return
          }
          var o = 0
          forEachRow(shape: shape, strides: stridesA, stridesB) { offA, strideA, offB, strideB, count in
            // Pointers to the row, so the loops index with their own counter only: indexing the
            // buffers with `o + j` checked each addition for overflow and kept the loops scalar.
            let (row, u, w) = (outBase + o, xBase + offA, yBase + offB)
            // The common patterns get loops with unit strides, which vectorise: a matrix plus a
            // row vector (a bias), and a matrix plus a column.
            if strideA == 1 && strideB == 0 {
              let v = w.pointee
              for j in 0..<count { row[j] = combine(u[j], v) }
            } else if strideA == 1 && strideB == 1 {
              for j in 0..<count { row[j] = combine(u[j], w[j]) }
            } else if strideA == 0 && strideB == 1 {
              let v = u.pointee
              for j in 0..<count { row[j] = combine(v, w[j]) }
            } else {
              for j in 0..<count { row[j] = combine(u[j * strideA], w[j * strideB]) }
            }
            o += count
          }
        }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
  }

  /// `combine` of the scalars when both tensors hold one (the result has the larger rank), else
  /// `nil`. The operators are inlinable for this path, so that a scalar operation in another
  /// module does not call through a generic entry point; other shapes go to the kernels.
  @inlinable
  static func combiningSingles(_ a: Tensor, _ b: Tensor, _ combine: (Scalar, Scalar) -> Scalar) -> Tensor? {
    guard case .single(let rank, let x) = a.contents, case .single(let otherRank, let y) = b.contents else {
      return nil
    }
    return Tensor(rank: Swift.max(rank, otherRank), single: combine(Scalar(x), Scalar(y)))
  }

  /// Elementwise sum with broadcasting.
  @inlinable
  public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
    combiningSingles(lhs, rhs, +) ?? sum(lhs, rhs)
  }
  /// ``+(_:_:)`` of two tensors that are not both one scalar.
  @usableFromInline
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func sum(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "+", +) }
  /// Elementwise difference with broadcasting.
  @inlinable
  public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
    combiningSingles(lhs, rhs, -) ?? difference(lhs, rhs)
  }
  /// ``-(_:_:)`` of two tensors that are not both one scalar.
  @usableFromInline
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func difference(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "-", -) }
  /// Elementwise product with broadcasting.
  @inlinable
  public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
    combiningSingles(lhs, rhs, *) ?? product(lhs, rhs)
  }
  /// ``*(_:_:)`` of two tensors that are not both one scalar.
  @usableFromInline
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func product(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "*", *) }
  /// Elementwise quotient with broadcasting.
  @inlinable
  public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
    combiningSingles(lhs, rhs, /) ?? quotient(lhs, rhs)
  }
  /// ``/(_:_:)`` of two tensors that are not both one scalar.
  @usableFromInline
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func quotient(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { zip(lhs, rhs, operation: "/", /) }

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
  ///
  /// When the shapes are equal the scalars are updated where they are, without a new buffer
  /// (unless the buffer is shared with another tensor, which copy-on-write then copies first).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func += (lhs: inout Tensor, rhs: Tensor) {
    guard lhs.hasSameShape(as: rhs) else { return lhs = lhs + rhs }
    lhs.updateInPlace(with: rhs) { $0 += $1 }
  }
  /// Subtracts `rhs` (broadcast) in place; in the same buffer when the shapes are equal.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func -= (lhs: inout Tensor, rhs: Tensor) {
    guard lhs.hasSameShape(as: rhs) else { return lhs = lhs - rhs }
    lhs.updateInPlace(with: rhs) { $0 -= $1 }
  }
  /// Multiplies by `rhs` (broadcast) in place; in the same buffer when the shapes are equal.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func *= (lhs: inout Tensor, rhs: Tensor) {
    guard lhs.hasSameShape(as: rhs) else { return lhs = lhs * rhs }
    lhs.updateInPlace(with: rhs) { $0 *= $1 }
  }

  /// Adds `factor · other` to this tensor in place, in one pass and without a temporary: the
  /// update of gradient descent, `weights.addProduct(-learningRate, gradient)`.
  ///
  /// - Parameters:
  ///   - factor: The scalar multiplying `other`.
  ///   - other: A tensor of the same shape.
  /// - Precondition: `other.shape == shape`.
  @inlinable
  public mutating func addProduct(_ factor: Scalar, _ other: Tensor) {
    if _slowPath(!hasSameShape(as: other)) { Tensor.addProductShapesFailed(self, other) }
    guard !isSingle, Scalar.self == Float.self || Scalar.self == Double.self else {
      return updateInPlace(with: other) { $0 += factor * $1 }
    }
    // A loop compiled for the concrete type: code that calls this unspecialised (an optimiser
    // stepped through `any Optimizer<Float>`) would otherwise add each element through the
    // generic `Numeric` witnesses, a hundred times slower.
    other.withUnsafeBufferPointer { y in
      withUnsafeMutableBufferPointer { x in
        guard let base = x.baseAddress, let other = y.baseAddress else { return }
        if Scalar.self == Float.self {
          addProductLoop(
            UnsafeMutableRawPointer(base).assumingMemoryBound(to: Float.self),
            UnsafeRawPointer(other).assumingMemoryBound(to: Float.self), x.count,
            unsafeBitCast(factor, to: Float.self))
        } else {
          addProductLoop(
            UnsafeMutableRawPointer(base).assumingMemoryBound(to: Double.self),
            UnsafeRawPointer(other).assumingMemoryBound(to: Double.self), x.count,
            unsafeBitCast(factor, to: Double.self))
        }
      }
    }
  }

  /// Stops with ``addProduct(_:_:)``'s message; out of line, so that the check inlines.
  @inline(never)
  @usableFromInline
  static func addProductShapesFailed(_ tensor: Tensor, _ other: Tensor) -> Never {
    checkFailed("addProduct: shapes \(tensor.shape) and \(other.shape) differ; they must be equal")
  }

  /// Applies `update(&self[i], other[i])` to every element; the shapes are equal.
  @inlinable @inline(__always)
  mutating func updateInPlace(with other: Tensor, _ update: (inout Scalar, Scalar) -> Void) {
    if isSingle {
      update(&single, other.single)
      return
    }
    // The tensor's own pointer methods: through `scalars` the update went by its `_modify`
    // accessor, which rebuilt the tensor and checked the count against the shape.
    other.withUnsafeBufferPointer { y in
      withUnsafeMutableBufferPointer { x in
        for i in 0..<x.count { update(&x[i], y[i]) }
      }
    }
  }

  /// `true` when every scalar is finite (no NaN, no ±infinity).
  public var isFinite: Bool { withUnsafeBufferPointer { $0.allSatisfy { $0.isFinite } } }
}

/// x[i] += a · y[i] for i < n, in `Float`: ``Tensor/addProduct(_:_:)``'s loop.
@usableFromInline
func addProductLoop(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int, _ a: Float) {
  for i in 0..<n { x[i] += a * y[i] }
}

/// x[i] += a · y[i] for i < n, in `Double`: ``Tensor/addProduct(_:_:)``'s loop.
@usableFromInline
func addProductLoop(_ x: UnsafeMutablePointer<Double>, _ y: UnsafePointer<Double>, _ n: Int, _ a: Double) {
  for i in 0..<n { x[i] += a * y[i] }
}

/// Elementwise functions on tensors, named like their scalar counterparts.
extension Tensor {
  /// e^x elementwise.
  ///
  /// `Float` tensors go through a vectorised kernel within 2 ulp of the exact result (the C
  /// library's `expf` is within 1); `Double` tensors through the C library's `exp`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func exp() -> Tensor { mapped(floatKernel: bp_exp_f32, Scalar._exp) }
  /// Natural logarithm elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func log() -> Tensor { map(Scalar._log) }
  /// Square root elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func squareRoot() -> Tensor {
    // C kernels: the closure's loop calls sqrtf or sqrt per element (they may set errno) and
    // does not vectorise. All are correctly rounded, so the results are the same.
    mapped(floatKernel: bp_sqrt_f32, doubleKernel: bp_sqrt_f64) { $0.squareRoot() }
  }
  /// Hyperbolic tangent elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func tanh() -> Tensor { map(Scalar._tanh) }

  /// sin x for each element (radians).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sin() -> Tensor { map(Scalar._sin) }

  /// cos x for each element (radians).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func cos() -> Tensor { map(Scalar._cos) }

  /// The error function erf x for each element.
  ///
  /// `Float` tensors go through a vectorised kernel within 2 ulp of the exact result; `Double`
  /// tensors through the C library's `erf`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func erf() -> Tensor { mapped(floatKernel: bp_erf_f32, Scalar._erf) }

  /// The Gaussian error linear unit x·Φ(x) = ½x(1 + erf(x/√2)) of each element, exact (not the
  /// tanh approximation); `Float` through a vectorised kernel.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func gelu() -> Tensor {
    mapped(floatKernel: bp_gelu_f32) { x in x * (Scalar._erf(x * Scalar(1 / 2.0.squareRoot())) + 1) / 2 }
  }

  /// The derivative of ``gelu()`` at each element: Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) +
  /// x·e^(−x²/2)/√(2π); `Float` through a vectorised kernel.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func geluDerivative() -> Tensor {
    mapped(floatKernel: bp_gelu_derivative_f32) { x in
      (Scalar._erf(x * Scalar(1 / 2.0.squareRoot())) + 1) / 2
        + x * Scalar._exp(-x * x / 2) * Scalar(1 / (2 * Double.pi).squareRoot())
    }
  }

  /// `transform` of every scalar, except that a `Float` tensor goes through `floatKernel`, and a
  /// `Double` one through `doubleKernel` if there is one: vectorised C loops over the whole buffer.
  @inline(__always)
  func mapped(
    floatKernel: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void,
    doubleKernel: ((UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int) -> Void)? = nil,
    _ transform: (Scalar) -> Scalar
  ) -> Tensor {
    if Scalar.self == Float.self {
      return mapped(through: floatKernel)
    } else if Scalar.self == Double.self, let doubleKernel {
      return mapped(through: doubleKernel)
    }
    return map(transform)
  }

  /// Every scalar through `kernel`; `T` must be `Scalar` itself.
  @inline(__always)
  private func mapped<T>(through kernel: (UnsafePointer<T>?, UnsafeMutablePointer<T>?, Int) -> Void) -> Tensor
  {
    if case .single(let rank, let scalar) = contents {
      var (input, output) = (Scalar(scalar), Scalar(scalar))
      withUnsafePointer(to: &input) { x in
        withUnsafeMutablePointer(to: &output) { y in
          kernel(
            UnsafeRawPointer(x).assumingMemoryBound(to: T.self),
            UnsafeMutableRawPointer(y).assumingMemoryBound(to: T.self), 1)
        }
      }
      return Tensor(rank: rank, single: output)
    }
    let result = withUnsafeBufferPointer { x in
      Tensor.makeBuffer(count: x.count) { out in
        UnsafeRawBufferPointer(x).withMemoryRebound(to: T.self) { x in
          UnsafeMutableRawBufferPointer(out).withMemoryRebound(to: T.self) { out in
            kernel(x.baseAddress, out.baseAddress, x.count)
          }
        }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
  }

  /// Each element clamped to `range`: `lowerBound` below it, `upperBound` above it.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func clamped(to range: ClosedRange<Scalar>) -> Tensor {
    let (lower, upper) = (range.lowerBound, range.upperBound)
    return map { Swift.min(Swift.max($0, lower), upper) }
  }
  /// Each element raised to `exponent`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func pow(_ exponent: Scalar) -> Tensor {
    if exponent == 2 { return map { $0 * $0 } }
    return map { Scalar._pow($0, exponent) }
  }
  /// Absolute value elementwise.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func abs() -> Tensor { map { Swift.abs($0) } }

  /// The sign of each scalar: −1, 0 or 1 (NaN stays NaN).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sign() -> Tensor { map { $0 > 0 ? 1 : $0 < 0 ? -1 : $0 } }
  /// The logistic function 1 / (1 + e^−x), evaluated without overflow for large |x|.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sigmoid() -> Tensor { map(Tensor.sigmoid) }
  /// max(x, 0) elementwise.
  @inlinable
  public func relu() -> Tensor {
    guard !isSingle else { return map { $0 > 0 ? $0 : 0 } }
    let result = withUnsafeBufferPointer { x in
      Tensor.makeBuffer(count: x.count) { out in
        // An explicit loop rather than `map`, so that a large tensor splits across threads with
        // the selection inline: `map`'s closure, captured by a share, was called per element.
        ParallelExecution.forEachShare(
          of: x.count, isLarge: x.count >= ParallelExecution.elementwiseThreshold
        ) {
          share in
          for i in share {
            let value = x[i]
            out[i] = value > 0 ? value : 0
          }
        }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
  }
  /// log(1 + e^x) elementwise, evaluated as max(x, 0) + log1p(e^−|x|) so it never overflows.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func softplus() -> Tensor {
    map { x in Swift.max(x, 0) + Scalar._log1p(Scalar._exp(-Swift.abs(x))) }
  }
  /// Each scalar where the scalar of `mask` at the same position is positive, and 0 where it is
  /// not: ReLU's backward rule, the upstream gradient masked by the input.
  ///
  /// Inlinable, so that the loop is specialised and vectorised in the caller's module: through
  /// ``zip(_:_:operation:_:)``'s generic entry point it called a closure per element.
  /// - Precondition: the shapes broadcast.
  @inlinable
  public func zeroed(whereNotPositive mask: Tensor) -> Tensor {
    if case .single(let rank, let gradient) = contents, case .single(let maskRank, let input) = mask.contents
    {
      // One scalar each (a scalar graph's ReLU): the choice in place, where the generic `zip`
      // entry point, all another module can call, took about 80 instructions.
      return Tensor(rank: Swift.max(rank, maskRank), single: input > 0 ? Scalar(gradient) : 0)
    }
    guard !isSingle, hasSameShape(as: mask) else {
      return Tensor.zip(self, mask, operation: "zeroed(whereNotPositive:)") { g, x in x > 0 ? g : 0 }
    }
    let result = withUnsafeBufferPointer { g in
      mask.withUnsafeBufferPointer { x in
        Tensor.makeBuffer(count: g.count) { out in
          // Both loads before the choice, so that it compiles to a vector select: with the
          // load of g[i] under the condition, the loop stayed scalar and branched per element,
          // mispredicting about half the time on a layer's mixed signs.
          // Large tensors split across threads (the loop has no closure to lose inside a share).
          ParallelExecution.forEachShare(
            of: g.count, isLarge: g.count >= ParallelExecution.elementwiseThreshold
          ) {
            share in
            for i in share {
              let (gradient, input) = (g[i], x[i])
              out[i] = input > 0 ? gradient : 0
            }
          }
        }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
  }

  /// 1 where `predicate` holds for the element, 0 elsewhere.
  @inlinable
  public func mask(where predicate: (Scalar) -> Bool) -> Tensor { map { predicate($0) ? 1 : 0 } }

  /// The stable scalar logistic function.
  @inlinable static func sigmoid(_ x: Scalar) -> Scalar {
    if x >= 0 { return 1 / (1 + Scalar._exp(-x)) }
    let e = Scalar._exp(x)
    return e / (1 + e)
  }
}
