import BackpropKernels

/// Reductions. `alongAxes` keeps the reduced dimensions with extent 1 (so the result broadcasts
/// against the input); `squeezingAxes` removes them.
extension Tensor: AxisReductions {
  /// The sum of all scalars, as a rank-0 tensor.
  ///
  /// The additions go in a fixed order, the same on every processor: 32 partial sums for `Float`
  /// (16 for `Double`), each over every 32nd element from the left, folded in halves at the end
  /// (`bp_row_sums_*` in BackpropKernels). Partial sums keep the vector units busy and the
  /// rounding error lower than one running total, as NumPy's pairwise and PyTorch's cascade
  /// summation do.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum() -> Tensor {
    Tensor(withUnsafeBufferPointer { x in x.baseAddress.map { Tensor.total(of: $0, count: x.count) } ?? 0 })
  }

  /// Σ x² over all scalars, in four partial sums so that the additions do not wait on each
  /// other (gradient clipping's global norm).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func sumOfSquares() -> Scalar {
    withUnsafeBufferPointer { x in
      var (a, b, c, d): (Scalar, Scalar, Scalar, Scalar) = (0, 0, 0, 0)
      var i = 0
      while i + 4 <= x.count {
        (a, b, c, d) = (
          a + x[i] * x[i], b + x[i + 1] * x[i + 1], c + x[i + 2] * x[i + 2], d + x[i + 3] * x[i + 3]
        )
        i += 4
      }
      while i < x.count {
        a += x[i] * x[i]
        i += 1
      }
      return (a + b) + (c + d)
    }
  }

  /// The mean of all scalars, as a rank-0 tensor.
  ///
  /// - Precondition: the tensor is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean() -> Tensor {
    check(scalarCount > 0, "mean(): tensor of shape \(shape) is empty")
    return Tensor(
      withUnsafeBufferPointer { Tensor.total(of: $0.baseAddress!, count: $0.count) } / Scalar(scalarCount))
  }

  /// The sums along `axes`, keeping each reduced dimension with extent 1.
  ///
  /// Negative axes count from the end (`-1` is the last dimension).
  /// - Precondition: every axis is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(alongAxes axes: [Int]) -> Tensor {
    reduce(alongAxes: axes, operation: "sum(alongAxes:)", initial: 0, +, rowSums: Tensor.rowSums)
  }

  /// `bp_row_sums_*` for `Float` and `Double`: the sums of the rows, each in the order of
  /// ``sum()``; `nil` for other types.
  static var rowSums: ((UnsafePointer<Scalar>, Int, Int, UnsafeMutablePointer<Scalar>) -> Void)? {
    if Scalar.self == Float.self {
      return { x, rows, length, out in
        bp_row_sums_f32(
          UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), rows, length,
          UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
      }
    }
    if Scalar.self == Double.self {
      return { x, rows, length, out in
        bp_row_sums_f64(
          UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), rows, length,
          UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
      }
    }
    return nil
  }

  /// The sum of `count` scalars from `x`, in the order of ``sum()`` (``rowSums``) for `Float` and
  /// `Double`, in that of ``combined(_:count:initial:_:)`` for other scalar types.
  ///
  /// Up to eight scalars are added here, in that order, without a call into the kernels: lane i
  /// holds 0 + x[i] and the lanes beyond the count +0, which the halving adds without changing
  /// anything, so the sum is ((s₀ + s₄) + (s₁ + s₅)) + ((s₂ + s₆) + (s₃ + s₇)).
  @inline(__always)
  static func total(of x: UnsafePointer<Scalar>, count: Int) -> Scalar {
    guard let rowSums else { return combined(x, count: count, initial: 0, +) }
    if count <= 8 {
      func lane(_ i: Int) -> Scalar { i < count ? 0 + x[i] : 0 }
      return ((lane(0) + lane(4)) + (lane(1) + lane(5))) + ((lane(2) + lane(6)) + (lane(3) + lane(7)))
    }
    var sum: Scalar = 0
    rowSums(x, 1, count, &sum)
    return sum
  }

  /// The sums along `axes`, removing the reduced dimensions.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(squeezingAxes axes: [Int]) -> Tensor {
    let normalized = normalize(axes: axes, operation: "sum(squeezingAxes:)")
    let kept = shape.indices.filter { !normalized.contains($0) }.map { shape[$0] }
    return sum(alongAxes: normalized).reshaped(to: kept)
  }

  /// The means along `axes`, keeping each reduced dimension with extent 1.
  ///
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean(alongAxes axes: [Int]) -> Tensor {
    let summed = sum(alongAxes: axes)
    let count = scalarCount / Swift.max(summed.scalarCount, 1)
    check(count > 0, "mean(alongAxes:): reducing an empty axis of shape \(shape)")
    return summed / Scalar(count)
  }

  /// The population variances along `axes` (PyTorch's `var(unbiased=False)`), keeping each
  /// reduced dimension with extent 1: the mean of (x − mean x)².
  ///
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func variance(alongAxes axes: [Int]) -> Tensor {
    let centred = self - mean(alongAxes: axes)
    return (centred * centred).mean(alongAxes: axes)
  }

  /// The largest scalars along `axes`, keeping each reduced dimension with extent 1.
  ///
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max(alongAxes axes: [Int]) -> Tensor {
    reduce(alongAxes: axes, operation: "max(alongAxes:)", initial: -.infinity) { Swift.max($0, $1) }
  }

  /// The smallest scalars along `axes`, keeping each reduced dimension with extent 1.
  ///
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min(alongAxes axes: [Int]) -> Tensor {
    reduce(alongAxes: axes, operation: "min(alongAxes:)", initial: .infinity) { Swift.min($0, $1) }
  }

  /// The largest scalar, as a rank-0 tensor.
  ///
  /// - Precondition: the tensor is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max() -> Tensor {
    check(scalarCount > 0, "max(): tensor of shape \(shape) is empty")
    return Tensor(withUnsafeBufferPointer { $0.reduce(-.infinity) { Swift.max($0, $1) } })
  }

  /// The smallest scalar, as a rank-0 tensor.
  ///
  /// - Precondition: the tensor is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min() -> Tensor {
    check(scalarCount > 0, "min(): tensor of shape \(shape) is empty")
    return Tensor(withUnsafeBufferPointer { $0.reduce(.infinity) { Swift.min($0, $1) } })
  }

  /// Axes made non-negative, sorted and unique, or a precondition failure naming `operation`.
  func normalize(axes: [Int], operation: String) -> [Int] {
    let normalized = axes.map { axis in
      check(axis >= -rank && axis < rank, "\(operation): axis \(axis) out of range for shape \(shape)")
      return axis < 0 ? axis + rank : axis
    }
    return Array(Set(normalized)).sorted()
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  @inline(__always)
  func reduce(
    alongAxes axes: [Int], operation: String, initial: Scalar, _ combine: (Scalar, Scalar) -> Scalar,
    rowSums: ((UnsafePointer<Scalar>, Int, Int, UnsafeMutablePointer<Scalar>) -> Void)? = nil
  ) -> Tensor {
    let axes = normalize(axes: axes, operation: operation)
    var resultShape = shape
    for axis in axes { resultShape[axis] = 1 }
    if axes.isEmpty { return self }
    let inputStrides = Tensor.broadcastStrides(of: shape, toRank: rank)
    var outputStrides = Tensor.broadcastStrides(of: resultShape, toRank: rank)
    for axis in axes { outputStrides[axis] = 0 }
    // When the (merged) last axis is reduced and `rowSums` is given, every row's sum is made
    // first, in the kernel's order, and the rows of one target are added in turn.
    var length = 1
    // A small tensor's rows go one by one, without the batch of row sums.
    let sums = rowSums != nil
    var rowSums = scalarCount >= 64 ? rowSums : nil
    if rowSums != nil {
      let coalesced = coalescedAxes(shape, [inputStrides, outputStrides])
      length = coalesced.shape.last ?? 1
      let lastAxisReduced = coalesced.strides[0].last == 1 && coalesced.strides[1].last == 0
      if !lastAxisReduced { rowSums = nil }
    }
    let result = withUnsafeBufferPointer { x in
      Tensor.makeBuffer(count: resultShape.reduce(1, *)) { out in
        out.initialize(repeating: initial)
        guard let outBase = out.baseAddress, let xBase = x.baseAddress else { return }
        if let rowSums {
          withUnsafeTemporaryAllocation(of: Scalar.self, capacity: x.count / length) { sums in
            rowSums(xBase, x.count / length, length, sums.baseAddress!)
            forEachRow(shape: shape, strides: inputStrides, outputStrides) { offX, _, offOut, _, count in
              outBase[offOut] = combine(outBase[offOut], sums[offX / count])
            }
          }
          return
        }
        forEachRow(shape: shape, strides: inputStrides, outputStrides) {
          offX, strideX, offOut, strideOut, count in
          // Pointers to the row, so the loops index with their own counter only (no overflow
          // check on `offset + j`, which kept the first loop scalar).
          let (row, target) = (xBase + offX, outBase + offOut)
          if strideOut == 1 && strideX == 1 {  // reducing an outer axis: a vector sum, vectorised
            for j in 0..<count { target[j] = combine(target[j], row[j]) }
          } else if strideOut == 0 && strideX == 1 {  // reducing the last axis
            let value =
              sums
              ? Tensor.total(of: row, count: count)
              : Tensor.combined(row, count: count, initial: initial, combine)
            target.pointee = combine(target.pointee, value)
          } else {
            for j in 0..<count { target[j * strideOut] = combine(target[j * strideOut], row[j * strideX]) }
          }
        }
      }
    }
    return Tensor(uncheckedShape: resultShape, buffer: result)
  }
}

extension Tensor {
  /// `count` scalars from `row` combined into `initial` with four independent partial results,
  /// so that the combinations do not wait on each other (a maximum along the last axis; sums of
  /// `Float` and `Double` go through ``total(of:count:)``).
  @inlinable @inline(__always)
  static func combined(
    _ row: UnsafePointer<Scalar>, count: Int, initial: Scalar, _ combine: (Scalar, Scalar) -> Scalar
  ) -> Scalar {
    var (a, b, c, d) = (initial, initial, initial, initial)
    var j = 0
    while j + 4 <= count {
      a = combine(a, row[j])
      b = combine(b, row[j + 1])
      c = combine(c, row[j + 2])
      d = combine(d, row[j + 3])
      j += 4
    }
    while j < count {
      a = combine(a, row[j])
      j += 1
    }
    return combine(combine(a, b), combine(c, d))
  }
}

/// log Σ eˣ along `axes`, keeping each reduced axis with extent 1, computed without overflow
/// (the maximum is subtracted first), as `logSumExp` on variables.
///
/// - Precondition: every axis is in `-rank..<rank`.
public func logSumExp<Scalar>(_ x: Tensor<Scalar>, alongAxes axes: [Int]) -> Tensor<Scalar> {
  let shift = x.max(alongAxes: axes)
  return (x - shift).exp().sum(alongAxes: axes).log() + shift
}

/// log Σ eˣ along `axes`, with those axes removed.
///
/// - Precondition: every axis is in `-rank..<rank`.
public func logSumExp<Scalar>(_ x: Tensor<Scalar>, squeezingAxes axes: [Int]) -> Tensor<Scalar> {
  x.squeezing(logSumExp(x, alongAxes: axes), axes: axes)
}
