/// Shape transformations: reshaping and transposition.
extension Tensor {
  /// The same scalars viewed with another shape of equal element count.
  ///
  /// - Precondition: `shape.reduce(1, *) == scalarCount`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func reshaped(to shape: [Int]) -> Tensor {
    check(
      shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == scalarCount,
      "reshaped(to:): cannot reshape \(self.shape) (\(scalarCount) scalars) to \(shape)")
    return Tensor(uncheckedShape: shape, sharingScalarsOf: self)
  }

  /// The axes from `axis` on merged into one (PyTorch's `flatten(start_dim:)`): all of them by
  /// default, so that the result has rank 1; `flattened(fromAxis: 1)` of `[N, C, H, W]` is
  /// `[N, C·H·W]`.
  ///
  /// - Precondition: `axis` is in `-rank..<rank` (negative axes count from the end); a rank-0
  ///   tensor flattens from axis 0 to shape `[1]`.
  public func flattened(fromAxis axis: Int = 0) -> Tensor {
    reshaped(to: Tensor.flattenedShape(shape, fromAxis: axis))
  }

  /// The shape ``flattened(fromAxis:)`` gives to `shape`.
  package static func flattenedShape(_ shape: [Int], fromAxis axis: Int) -> [Int] {
    let start = axis < 0 ? axis + shape.count : axis
    check(
      (shape.isEmpty && start == 0) || shape.indices.contains(start),
      "flattened(fromAxis:): axis \(axis) is not an axis of shape \(shape)")
    return Array(shape[..<start]) + [shape[start...].reduce(1, *)]
  }

  /// The tensor with its dimensions in reverse order; rank 0 and 1 are unchanged.
  ///
  /// For a matrix this is the usual transpose: `t.transposed()[scalarAt: [j, i]] == t[scalarAt: [i, j]]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func transposed() -> Tensor {
    transposed(permutation: Array((0..<rank).reversed()))
  }

  /// The tensor with its dimensions permuted: dimension `i` of the result is dimension
  /// `permutation[i]` of this tensor.
  ///
  /// - Precondition: `permutation` is a permutation of `0..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func transposed(permutation: [Int]) -> Tensor {
    check(
      permutation.sorted() == Array(0..<rank),
      "transposed(permutation:): \(permutation) is not a permutation of the axes of \(shape)")
    if rank < 2 { return self }
    let newShape = permutation.map { shape[$0] }
    if rank == 2 {
      let (rows, columns) = (shape[0], shape[1])
      let result = withUnsafeBufferPointer { x in
        Tensor.makeBuffer(count: x.count) { out in
          for i in 0..<rows {
            for j in 0..<columns { out[j * rows + i] = x[i * columns + j] }
          }
        }
      }
      return Tensor(uncheckedShape: newShape, buffer: result)
    }
    let sourceStrides = Tensor.broadcastStrides(of: shape, toRank: rank)
    let strides = permutation.map { shape[$0] == 1 ? 0 : sourceStrides[$0] }
    let result = withUnsafeBufferPointer { x in
      Tensor.makeBuffer(count: x.count) { out in
        var o = 0
        forEachRow(shape: newShape, strides: strides) { offset, stride, count in
          if stride == 1 {  // the last axis stays last: whole runs copy
            (out.baseAddress! + o).update(from: x.baseAddress! + offset, count: count)
          } else {
            for j in 0..<count { out[o + j] = x[offset + j * stride] }
          }
          o += count
        }
      }
    }
    return Tensor(uncheckedShape: newShape, buffer: result)
  }
}
