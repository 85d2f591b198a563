import BackpropTensor

/// z = |x|. dz/dx = sign(x), with 0 at the kink x = 0.
struct AbsoluteValue<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "abs" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "sign(\(t.differentiated))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.multiplied(byConstant: inputs[0].tensor.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.multiplied(byConstant: inputs[0].tensor.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
  }
}

/// The absolute value of each element.
///
/// Gradient: abs′(x) = sign(x), and 0 at x = 0 by convention.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func abs<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(AbsoluteValue(), x, value: x.value.abs())
}
