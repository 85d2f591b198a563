/// NumPy broadcasting: shapes are aligned at their last dimension; two extents are compatible
/// when they are equal or one of them is 1; a missing leading dimension counts as 1.
extension Tensor {
  /// The broadcast shape of two shapes, or `nil` when they are incompatible.
  ///
  /// `broadcastShape([3, 1], [1, 4]) == [3, 4]`, `broadcastShape([2, 3], [3]) == [2, 3]`.
  public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      if x == y || y == 1 {
        result[i] = x
      } else if x == 1 {
        result[i] = y
      } else {
        return nil
      }
    }
    return result
  }

  /// The broadcast shape of two operands, or a precondition failure naming `operation`.
  static func broadcastShape(_ a: [Int], _ b: [Int], operation: String) -> [Int] {
    guard let shape = broadcastShape(a, b) else {
      checkFailed("\(operation): shapes \(a) and \(b) do not broadcast")
    }
    return shape
  }

  /// Row-major strides of `shape` aligned to a result of rank `rank`, with stride 0 on every
  /// dimension that is broadcast (extent 1, or missing).
  static func broadcastStrides(of shape: [Int], toRank rank: Int) -> [Int] {
    var strides = [Int](repeating: 0, count: rank)
    var step = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      if shape[i] != 1 { strides[i + rank - shape.count] = step }
      step *= shape[i]
    }
    return strides
  }

  /// This tensor repeated along its size-1 (and missing leading) dimensions to `shape`.
  ///
  /// - Precondition: this tensor's shape broadcasts to `shape`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func broadcasted(to shape: [Int]) -> Tensor {
    if hasShape(shape) { return self }
    // One scalar broadcasts to any shape of at least its rank (its extents are all 1).
    if isSingle && rank <= shape.count && shape.allSatisfy({ $0 >= 0 }) {
      return Tensor(repeating: single, shape: shape)
    }
    check(
      Tensor.broadcastShape(self.shape, shape) == shape,
      "broadcasted(to:): shape \(self.shape) does not broadcast to \(shape)")
    let strides = Tensor.broadcastStrides(of: self.shape, toRank: shape.count)
    let result = withUnsafeBufferPointer { source in
      Tensor.makeBuffer(count: shape.reduce(1, *)) { out in
        guard let outBase = out.baseAddress, let sourceBase = source.baseAddress else { return }
        var o = 0
        forEachRow(shape: shape, strides: strides) { offset, innerStride, count in
          // Pointers to the row, so that the loops index with their own counter only and
          // vectorise: a value repeated along the row, or a row copied (indexing the buffers
          // with `o + j` checked each addition for overflow and kept the loop scalar).
          let (row, from) = (outBase + o, sourceBase + offset)
          if innerStride == 0 {
            let value = from.pointee
            for j in 0..<count { row[j] = value }
          } else if innerStride == 1 {
            row.initialize(from: from, count: count)
          } else {
            for j in 0..<count { row[j] = from[j * innerStride] }
          }
          o += count
        }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
  }

  /// The sum of this tensor over the dimensions that broadcasting added to reach it from `shape`:
  /// the adjoint of ``broadcasted(to:)``, used to send gradients back to an operand's shape.
  ///
  /// - Precondition: `shape` broadcasts to this tensor's shape.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func unbroadcasted(to shape: [Int]) -> Tensor {
    if hasShape(shape) { return self }
    return sum(alongAxes: Tensor.broadcastAxes(from: shape, to: self.shape)).reshaped(to: shape)
  }

  /// The axes of `target` along which broadcasting `source` to it repeats values: the leading
  /// axes `source` lacks, and those where `source` has extent 1 and `target` does not.
  ///
  /// - Precondition: `source` broadcasts to `target` (checked, naming `unbroadcasted(to:)`).
  public static func broadcastAxes(from source: [Int], to target: [Int]) -> [Int] {
    check(
      broadcastShape(source, target) == target,
      "unbroadcasted(to:): shape \(source) does not broadcast to \(target)")
    let lead = target.count - source.count
    var axes = Array(0..<lead)
    for (i, extent) in source.enumerated() where extent == 1 && target[i + lead] != 1 {
      axes.append(i + lead)
    }
    return axes
  }
}

/// `shape` and the buffers' `strides` with adjacent axes merged wherever every buffer steps
/// through the pair as through one axis (stride[d] = stride[d + 1] · shape[d + 1]), so that the
/// innermost rows are as long as they can be: a per-channel bias on `[N, C, H, W]` gives rows of
/// H·W rather than W. Ranks below 3 are returned as they are.
func coalescedAxes(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
  guard shape.count >= 3 else { return (shape, strides) }
  var (shape, strides) = (shape, strides)
  var d = shape.count - 2
  while d >= 0 {
    if strides.allSatisfy({ $0[d] == $0[d + 1] * shape[d + 1] }) {
      shape[d + 1] *= shape[d]
      shape.remove(at: d)
      for k in strides.indices { strides[k].remove(at: d) }
    }
    d -= 1
  }
  return (shape, strides)
}

/// Calls `body` once per innermost row of `shape`, with the offset of the row's first element
/// in a buffer addressed by `strides`, the stride along the row, and the row's length.
@inline(__always)
func forEachRow(shape: [Int], strides: [Int], _ body: (_ offset: Int, _ stride: Int, _ count: Int) -> Void) {
  let (shape, coalesced) = coalescedAxes(shape, [strides])
  let strides = coalesced[0]
  let rank = shape.count
  if rank == 0 {
    body(0, 0, 1)
    return
  }
  if shape.contains(0) { return }
  let count = shape[rank - 1]
  let inner = strides[rank - 1]
  var index = [Int](repeating: 0, count: rank)
  var offset = 0
  while true {
    body(offset, inner, count)
    var d = rank - 2
    while d >= 0 {
      index[d] += 1
      offset += strides[d]
      if index[d] < shape[d] { break }
      offset -= strides[d] * index[d]
      index[d] = 0
      d -= 1
    }
    if d < 0 { return }
  }
}

/// Like ``forEachRow(shape:strides:_:)`` for two buffers addressed by their own strides.
@inline(__always)
func forEachRow(
  shape: [Int], strides a: [Int], _ b: [Int],
  _ body: (_ offsetA: Int, _ strideA: Int, _ offsetB: Int, _ strideB: Int, _ count: Int) -> Void
) {
  let (shape, coalesced) = coalescedAxes(shape, [a, b])
  let (a, b) = (coalesced[0], coalesced[1])
  let rank = shape.count
  if rank == 0 {
    body(0, 0, 0, 0, 1)
    return
  }
  if shape.contains(0) { return }
  let count = shape[rank - 1]
  var index = [Int](repeating: 0, count: rank)
  var offsetA = 0
  var offsetB = 0
  while true {
    body(offsetA, a[rank - 1], offsetB, b[rank - 1], count)
    var d = rank - 2
    while d >= 0 {
      index[d] += 1
      offsetA += a[d]
      offsetB += b[d]
      if index[d] < shape[d] { break }
      offsetA -= a[d] * index[d]
      offsetB -= b[d] * index[d]
      index[d] = 0
      d -= 1
    }
    if d < 0 { return }
  }
}
