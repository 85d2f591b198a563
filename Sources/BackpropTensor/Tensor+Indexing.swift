/// Indexing: boxes, rows, concatenation, gathering, and the positions of extreme elements.
///
/// Axes accept `-rank..<rank`, as in PyTorch; a mistake stops with a message naming the
/// operation and the offending values.
extension Tensor {
  /// The half-open box `lowerBounds[d] ..< upperBounds[d]` along every axis `d`.
  ///
  /// ```swift
  /// let t = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
  /// t.slice(lowerBounds: [0, 1], upperBounds: [2, 3])   // [[2, 3], [5, 6]]
  /// ```
  ///
  /// - Parameters:
  ///   - lowerBounds: The first index kept along each axis.
  ///   - upperBounds: One past the last index kept along each axis.
  /// - Precondition: one bound per axis, and `0 <= lowerBounds[d] <= upperBounds[d] <= shape[d]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func slice(lowerBounds: [Int], upperBounds: [Int]) -> Tensor {
    let shape = self.shape
    Tensor.checkBox(lowerBounds, upperBounds, in: shape, operation: "slice")
    let extents = Swift.zip(lowerBounds, upperBounds).map { $1 - $0 }
    if extents == shape { return self }
    let strides = Tensor.rowMajorStrides(of: shape)
    let start = Swift.zip(lowerBounds, strides).reduce(0) { $0 + $1.0 * $1.1 }
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: extents, count: extents.reduce(1, *)) { out in
        var o = 0
        forEachRow(shape: extents, strides: strides) { offset, stride, count in
          for j in 0..<count { out[o + j] = x[start + offset + j * stride] }
          o += count
        }
      }
    }
  }

  /// This tensor placed into zeros of `shape` with its first element at `lowerBounds`: the
  /// adjoint of ``slice(lowerBounds:upperBounds:)``, which sends a slice's gradient back.
  ///
  /// - Parameters:
  ///   - shape: The shape of the result.
  ///   - lowerBounds: Where this tensor's first element goes.
  /// - Precondition: the tensor fits: `lowerBounds[d] + self.shape[d] <= shape[d]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func padded(to shape: [Int], at lowerBounds: [Int]) -> Tensor {
    let extents = self.shape
    let upperBounds = Swift.zip(lowerBounds, extents).map { $0 + $1 }
    check(
      extents.count == shape.count,
      "padded(to:at:): a tensor of shape \(extents) cannot be placed into shape \(shape)")
    Tensor.checkBox(lowerBounds, upperBounds, in: shape, operation: "padded(to:at:)")
    if extents == shape { return self }
    let strides = Tensor.rowMajorStrides(of: shape)
    let start = Swift.zip(lowerBounds, strides).reduce(0) { $0 + $1.0 * $1.1 }
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: shape, count: shape.reduce(1, *)) { out in
        out.initialize(repeating: 0)
        var i = 0
        forEachRow(shape: extents, strides: strides) { offset, stride, count in
          for j in 0..<count { out[start + offset + j * stride] = x[i + j] }
          i += count
        }
      }
    }
  }

  /// The slice at `index` of the first axis, without that axis: row `index` of a matrix, the
  /// `index`-th sample of a batch. Negative indices count from the end, as in PyTorch.
  ///
  /// To read one scalar, use `t[scalarAt: [i, j]]` (or `t[scalarAt: k]` for a row-major offset).
  ///
  /// - Precondition: the tensor has rank ≥ 1 and `-shape[0] <= index < shape[0]`.
  public subscript(index: Int) -> Tensor {
    let shape = self.shape
    let (lower, upper) = Tensor.rowBox(index, of: shape, operation: "Tensor")
    return slice(lowerBounds: lower, upperBounds: upper).reshaped(to: Array(shape.dropFirst()))
  }

  /// The slices in `range` of the first axis, keeping that axis: `t[1..<3]` of a `[5, 4]`
  /// tensor has shape `[2, 4]`.
  ///
  /// - Precondition: the tensor has rank ≥ 1 and `range` lies within `0...shape[0]`.
  public subscript<Bounds: RangeExpression<Int>>(range: Bounds) -> Tensor {
    let (lower, upper) = Tensor.rowsBox(range, of: shape, operation: "Tensor")
    return slice(lowerBounds: lower, upperBounds: upper)
  }

  /// The scalar at the multi-dimensional `index`, read or changed in place.
  ///
  /// `t[scalarAt: [1, 2]]` is row 1, column 2 of a matrix. It is spelled apart from `t[1]`,
  /// which returns a slice as PyTorch's `t[1]` does.
  ///
  /// - Precondition: one index per axis, each within its extent.
  public subscript(scalarAt index: [Int]) -> Scalar {
    get {
      let offset = offset(of: index)
      return withUnsafeBufferPointer { $0[offset] }
    }
    set {
      let offset = offset(of: index)
      withUnsafeMutableBufferPointer { $0[offset] = newValue }
    }
  }

  /// The slices at `indices` along `axis`, in that order (PyTorch's `index_select`). Indices may
  /// repeat; negative indices count from the end.
  ///
  /// - Parameters:
  ///   - indices: Positions along `axis`.
  ///   - axis: The axis to gather along, in `-rank..<rank`.
  /// - Precondition: every index is in `-shape[axis]..<shape[axis]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func gathering(atIndices indices: [Int], alongAxis axis: Int) -> Tensor {
    let shape = self.shape
    let axis = Tensor.normalize(axis: axis, rank: shape.count, operation: "gathering(atIndices:alongAxis:)")
    let extent = shape[axis]
    let positions = Tensor.positions(indices, extent: extent) { index in
      "gathering(atIndices:alongAxis:): index \(index) out of range for axis \(axis) of shape \(shape)"
    }
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    var resultShape = shape
    resultShape[axis] = positions.count
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: resultShape, count: resultShape.reduce(1, *)) { out in
        var o = 0
        for block in 0..<outer {
          if inner == 1 {  // single elements, e.g. max pooling's gather from a flat tensor
            let base = block * extent
            let first = o
            // Every output element is its own, so a large gather splits across threads.
            positions.withUnsafeBufferPointer { positions in
              ParallelExecution.forEachShare(
                of: positions.count, isLarge: positions.count >= ParallelExecution.elementwiseThreshold / 4
              ) { share in
                for k in share { out[first + k] = x[base + positions[k]] }
              }
            }
            o += positions.count
            continue
          }
          for position in positions {
            let source = (block * extent + position) * inner
            for j in 0..<inner { out[o + j] = x[source + j] }
            o += inner
          }
        }
      }
    }
  }

  /// The adjoint of ``gathering(atIndices:alongAxis:)``: zeros with `extent` slices along
  /// `axis`, to which slice `i` of this tensor is added at `indices[i]`. Repeated indices add up.
  ///
  /// - Parameters:
  ///   - indices: One position along `axis` for each slice of this tensor along it.
  ///   - axis: The axis, in `-rank..<rank`.
  ///   - extent: The extent of the result along `axis`.
  /// - Precondition: `indices.count == shape[axis]`, `extent` is not negative, and every index
  ///   is in `-extent..<extent`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func scatteringAdd(atIndices indices: [Int], alongAxis axis: Int, extent: Int) -> Tensor {
    let shape = self.shape
    let axis = Tensor.normalize(
      axis: axis, rank: shape.count, operation: "scatteringAdd(atIndices:alongAxis:extent:)")
    check(
      indices.count == shape[axis],
      "scatteringAdd(atIndices:alongAxis:extent:): \(indices.count) indices for extent \(shape[axis]) of axis \(axis)"
    )
    check(extent >= 0, "scatteringAdd(atIndices:alongAxis:extent:): extent \(extent) is negative")
    let positions = Tensor.positions(indices, extent: extent) { index in
      "scatteringAdd(atIndices:alongAxis:extent:): index \(index) out of range for extent \(extent)"
    }
    return scattered(at: positions, alongAxis: axis, extent: extent)
  }

  /// ``scatteringAdd(atIndices:alongAxis:extent:)`` with positions already known to be in
  /// `0..<extent`: a gather's, checked when it was recorded against the extent it scatters back
  /// into (a gather's pullback). They are not checked again, which saves a pass over them (a
  /// max pool's backward reads one position per output element). Debug builds check them.
  ///
  /// - Precondition: `positions.count == shape[axis]`, `extent` is not negative, and every
  ///   position is in `0..<extent`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func scatteringAdd(atCheckedPositions positions: [Int], alongAxis axis: Int, extent: Int) -> Tensor
  {
    let shape = self.shape
    let axis = Tensor.normalize(
      axis: axis, rank: shape.count, operation: "scatteringAdd(atCheckedPositions:alongAxis:extent:)")
    check(
      positions.count == shape[axis] && extent >= 0,
      "scatteringAdd(atCheckedPositions:alongAxis:extent:): \(positions.count) positions for extent "
        + "\(shape[axis]) of axis \(axis), scattered into \(extent)")
    assert(positions.allSatisfy { $0 >= 0 && $0 < extent }, "scatteringAdd: a position outside 0..<\(extent)")
    return scattered(at: positions, alongAxis: axis, extent: extent)
  }

  /// Zeros with `extent` slices along `axis` (non-negative), to which slice `i` of this tensor is
  /// added at `positions[i]`, each in `0..<extent`.
  private func scattered(at positions: [Int], alongAxis axis: Int, extent: Int) -> Tensor {
    let shape = self.shape
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    var resultShape = shape
    resultShape[axis] = extent
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: resultShape, count: resultShape.reduce(1, *)) { out in
        out.initialize(repeating: 0)
        var i = 0
        for block in 0..<outer {
          if inner == 1 {
            // Positions are checked, so the loop needs no overflow checks.
            guard !positions.isEmpty else { continue }
            let (target, source) = (out.baseAddress! + block * extent, x.baseAddress! + i)
            positions.withUnsafeBufferPointer { positions in
              for k in 0..<positions.count { target[positions[k]] += source[k] }
            }
            i += positions.count
            continue
          }
          for position in positions {
            let target = (block * extent + position) * inner
            for j in 0..<inner { out[target + j] += x[i + j] }
            i += inner
          }
        }
      }
    }
  }

  /// `indices` with negative ones counted from the end of `extent` (the same array when none is
  /// negative), after checking that each is in `-extent..<extent`.
  static func positions(_ indices: [Int], extent: Int, message: (Int) -> String) -> [Int] {
    // First a count of the indices outside -extent..<extent (one unsigned comparison of
    // index + extent with 2·extent) and the OR of all indices (negative if any is), in a loop
    // without branches that vectorises; the offending index is looked for only when there is one.
    let span = UInt(Swift.max(extent, 0)) &* 2
    var (outside, signs) = (0, 0)
    for index in indices {
      outside &+= UInt(bitPattern: index &+ extent) >= span ? 1 : 0
      signs |= index
    }
    if outside > 0 {
      checkFailed(message(indices.first { $0 < -extent || $0 >= extent }!))
    }
    return signs < 0 ? indices.map { $0 < 0 ? $0 + extent : $0 } : indices
  }

  /// The position of the largest element along `axis` for every other index, in row-major
  /// order of the shape without `axis`. Ties give the first position, as in PyTorch.
  ///
  /// For logits of shape `[N, C]`, `argmax(alongAxis: 1)` is the predicted class of each sample.
  /// - Precondition: `axis` is in `-rank..<rank` and its extent is not zero.
  public func argmax(alongAxis axis: Int) -> [Int] {
    extremePositions(alongAxis: axis, operation: "argmax(alongAxis:)") { $0 > $1 }
  }

  /// The position of the smallest element along `axis` for every other index; ties give the
  /// first position. See ``argmax(alongAxis:)``.
  public func argmin(alongAxis axis: Int) -> [Int] {
    extremePositions(alongAxis: axis, operation: "argmin(alongAxis:)") { $0 < $1 }
  }

  /// The positions that `isBetter` prefers along `axis`; the first wins ties. NaN is never
  /// preferred over a number, and a NaN in first place is kept.
  private func extremePositions(
    alongAxis axis: Int, operation: String, _ isBetter: (Scalar, Scalar) -> Bool
  ) -> [Int] {
    let shape = self.shape
    let axis = Tensor.normalize(axis: axis, rank: shape.count, operation: operation)
    let extent = shape[axis]
    check(extent > 0, "\(operation): axis \(axis) of shape \(shape) is empty")
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    var positions = [Int](repeating: 0, count: outer * inner)
    withUnsafeBufferPointer { x in
      for block in 0..<outer {
        for j in 0..<inner {
          var best = 0
          var bestValue = x[block * extent * inner + j]
          for position in 1..<extent {
            let value = x[(block * extent + position) * inner + j]
            if isBetter(value, bestValue) { (best, bestValue) = (position, value) }
          }
          positions[block * inner + j] = best
        }
      }
    }
    return positions
  }

  /// `axis` made non-negative, or a stop naming `operation` when it is out of range.
  package static func normalize(axis: Int, rank: Int, operation: String) -> Int {
    check(axis >= -rank && axis < rank, "\(operation): axis \(axis) out of range for rank \(rank)")
    return axis < 0 ? axis + rank : axis
  }

  /// The box of row `index` (negative from the end) of the first axis of `shape`, or a stop
  /// naming `operation` (`"Tensor"`, `"Variable"`) and the index.
  package static func rowBox(_ index: Int, of shape: [Int], operation: String) -> ([Int], [Int]) {
    check(!shape.isEmpty, "\(operation)[\(index)]: a rank-0 value has no axis to index")
    check(
      index >= -shape[0] && index < shape[0],
      "\(operation)[\(index)]: index out of range for the first axis of shape \(shape)")
    let row = index < 0 ? index + shape[0] : index
    var (lower, upper) = ([Int](repeating: 0, count: shape.count), shape)
    (lower[0], upper[0]) = (row, row + 1)
    return (lower, upper)
  }

  /// The box of the rows `range` selects of the first axis of `shape`, or a stop naming
  /// `operation` and the rows.
  package static func rowsBox<Bounds: RangeExpression<Int>>(
    _ range: Bounds, of shape: [Int], operation: String
  ) -> ([Int], [Int]) {
    check(!shape.isEmpty, "\(operation)[range]: a rank-0 value has no axis to index")
    let rows = range.relative(to: 0..<shape[0])
    check(
      rows.lowerBound >= 0 && rows.upperBound <= shape[0],
      "\(operation)[range]: rows \(rows) out of range for extent \(shape[0])")
    var (lower, upper) = ([Int](repeating: 0, count: shape.count), shape)
    (lower[0], upper[0]) = (rows.lowerBound, rows.upperBound)
    return (lower, upper)
  }

  /// Checks that `lowerBounds ..< upperBounds` is a box inside `shape`.
  package static func checkBox(_ lowerBounds: [Int], _ upperBounds: [Int], in shape: [Int], operation: String)
  {
    check(
      lowerBounds.count == shape.count && upperBounds.count == shape.count,
      "\(operation): bounds \(lowerBounds) ..< \(upperBounds) for shape \(shape) need one per axis")
    for d in shape.indices {
      check(
        lowerBounds[d] >= 0 && lowerBounds[d] <= upperBounds[d] && upperBounds[d] <= shape[d],
        "\(operation): bounds \(lowerBounds) ..< \(upperBounds) are not a box inside shape \(shape)")
    }
  }

  /// Row-major strides: how far one step along each axis moves in the scalars.
  package static func rowMajorStrides(of shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var step = 1
    for d in shape.indices.reversed() {
      strides[d] = step
      step *= shape[d]
    }
    return strides
  }
}

/// The tensors joined along an existing axis (`torch.cat`): every part has the same shape
/// except along `axis`.
///
/// - Parameters:
///   - parts: At least one tensor; the same tensor may appear more than once.
///   - axis: The axis to join along, in `-rank..<rank`.
/// - Precondition: the parts have equal rank ≥ 1 and equal extents on every other axis.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func concatenate<Scalar>(_ parts: [Tensor<Scalar>], alongAxis axis: Int) -> Tensor<Scalar> {
  check(!parts.isEmpty, "concatenate(_:alongAxis:): no tensors to join")
  let shapes = parts.map(\.shape)
  let first = shapes[0]
  check(!first.isEmpty, "concatenate(_:alongAxis:): rank-0 tensors have no axis to join along")
  let axis = Tensor<Scalar>.normalize(axis: axis, rank: first.count, operation: "concatenate(_:alongAxis:)")
  for shape in shapes {
    check(
      shape.count == first.count
        && shape.indices.allSatisfy { $0 == axis || shape[$0] == first[$0] },
      "concatenate(_:alongAxis:): shapes \(shapes) differ off axis \(axis)")
  }
  if parts.count == 1 { return parts[0] }
  var resultShape = first
  resultShape[axis] = shapes.reduce(0) { $0 + $1[axis] }
  let outer = first[..<axis].reduce(1, *)
  let inner = first[(axis + 1)...].reduce(1, *)
  let scalars = parts.map(\.scalars)
  return Tensor(uncheckedShape: resultShape, count: resultShape.reduce(1, *)) { out in
    var o = 0
    for block in 0..<outer {
      for (part, shape) in zip(scalars, shapes) {
        let run = shape[axis] * inner
        let source = block * run
        for j in 0..<run { out[o + j] = part[source + j] }
        o += run
      }
    }
  }
}

/// The tensors joined along a new axis (`torch.stack`): all parts have the same shape, and the
/// result has one more axis, of extent `parts.count`, at `axis`.
///
/// - Parameters:
///   - parts: At least one tensor, all of the same shape.
///   - axis: Where the new axis goes, in `-(rank + 1)...rank`.
/// - Precondition: the parts have equal shapes.
public func stack<Scalar>(_ parts: [Tensor<Scalar>], alongAxis axis: Int) -> Tensor<Scalar> {
  let (expanded, axis) = stackedLayout(of: parts.map(\.shape), alongAxis: axis)
  return concatenate(parts.map { $0.reshaped(to: expanded) }, alongAxis: axis)
}

/// What `stack` of parts of `shapes` along `axis` joins: each part reshaped to `expanded` (a new
/// axis of extent 1 at `axis`), concatenated along the non-negative `axis`. Stops, naming
/// `stack`, when there are no parts or their shapes differ.
package func stackedLayout(of shapes: [[Int]], alongAxis axis: Int) -> (expanded: [Int], axis: Int) {
  check(!shapes.isEmpty, "stack(_:alongAxis:): nothing to stack")
  let shape = shapes[0]
  check(shapes.allSatisfy { $0 == shape }, "stack(_:alongAxis:): shapes \(shapes) differ")
  let axis = Tensor<Float>.normalize(axis: axis, rank: shape.count + 1, operation: "stack(_:alongAxis:)")
  var expanded = shape
  expanded.insert(1, at: axis)
  return (expanded, axis)
}
