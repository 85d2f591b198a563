import BackpropTensor

/// z = zeros with `extent` slices along `axis`, to which slice k of x is added at `indices[k]`:
/// the adjoint of ``Gather``. Slice k of x lands in slice `indices[k]` of z, so its gradient is
/// the upstream gradient gathered at the same indices.
struct ScatterAdd<Scalar: TensorScalar>: DifferentiableOperation {
  let indices: [Int]
  /// Non-negative.
  let axis: Int
  let extent: Int
  var name: String { "scatteringAdd" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.gathering(atIndices: indices, alongAxis: axis))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.scatteringAdd(atIndices: indices, alongAxis: axis, extent: extent)
  }
}

extension Variable {
  /// Zeros with `extent` slices along `axis`, to which slice k of this variable is added at
  /// `indices[k]`: the adjoint of ``gathering(atIndices:alongAxis:)`` (an embedding's gradient
  /// has this form). Repeated indices add up.
  ///
  /// Gradient: the upstream gradient gathered at `indices`.
  /// - Parameters:
  ///   - indices: One position along `axis` for each slice of this variable along it.
  ///   - axis: The axis, in `-rank..<rank`.
  ///   - extent: The extent of the result along `axis`.
  /// - Precondition: `indices.count == shape[axis]`, every index in `-extent..<extent`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func scatteringAdd(atIndices indices: [Int], alongAxis axis: Int, extent: Int) -> Variable {
    let value = value.scatteringAdd(atIndices: indices, alongAxis: axis, extent: extent)
    let axis = axis < 0 ? axis + value.rank : axis
    let positions = indices.contains { $0 < 0 } ? indices.map { $0 < 0 ? $0 + extent : $0 } : indices
    return Variable.record(
      ScatterAdd(indices: positions, axis: axis, extent: extent), self, value: value)
  }
}
