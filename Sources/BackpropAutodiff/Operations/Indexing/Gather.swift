import BackpropTensor

/// z = the slices of x at `indices` along `axis`. Slice k of z is slice `indices[k]` of x, so x's
/// gradient adds the upstream slices back at their indices (``ScatterAdd``); an index that
/// appears twice receives both.
struct Gather<Scalar: TensorScalar>: DifferentiableOperation {
  /// Positions in `0..<extent` of the input along ``axis``, checked (and negative indices
  /// counted from the end) before the gather is recorded: its pullback does not check them again.
  let indices: [Int]
  /// Non-negative.
  let axis: Int
  var name: String { "gathering" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let extent = inputs[0].shape[axis]
    guard G._recordsOperations else {
      // The indices were checked against this extent when the gather was recorded (a changed
      // input would have stopped the backward pass), so they are not checked again.
      return Operands(
        unsafeBitCast(
          g.tensor.scatteringAdd(atCheckedPositions: indices, alongAxis: axis, extent: extent), to: G.self))
    }
    return Operands(g.scatteringAdd(atIndices: indices, alongAxis: axis, extent: extent))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.gathering(atIndices: indices, alongAxis: axis)
  }
}

extension Variable {
  /// The slices at `indices` along `axis`, in that order (PyTorch's `index_select`); indices may
  /// repeat, and negative indices count from the end.
  ///
  /// Gradient: the upstream slices added back at their indices; repeated indices accumulate.
  /// - Parameters:
  ///   - indices: Positions along `axis`.
  ///   - axis: The axis to gather along, in `-rank..<rank`.
  /// - Precondition: every index is in `-shape[axis]..<shape[axis]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func gathering(atIndices indices: [Int], alongAxis axis: Int) -> Variable {
    let value = value.gathering(atIndices: indices, alongAxis: axis)
    let axis = axis < 0 ? axis + value.rank : axis
    let extent = shape[axis]
    let positions = indices.contains { $0 < 0 } ? indices.map { $0 < 0 ? $0 + extent : $0 } : indices
    return Variable.record(Gather(indices: positions, axis: axis), self, value: value)
  }
}
