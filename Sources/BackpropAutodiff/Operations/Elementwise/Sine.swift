import BackpropTensor

/// z = sin x. ∂z/∂x = cos x.
struct Sine<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "sin" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "cos(\(t.differentiated))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g * inputs[0].cos())
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]! * inputs[0].cos()
  }
}

/// The sine of each element (radians).
///
/// Gradient: ∂(sin x)/∂x = cos x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sin<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Sine(), x, value: x.value.sin())
}
