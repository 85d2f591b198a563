import BackpropTensor

/// z = cos x. ∂z/∂x = −sin x.
struct Cosine<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "cos" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "−sin(\(t.differentiated))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(-(g * inputs[0].sin()))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    -(t[0]! * inputs[0].sin())
  }
}

/// The cosine of each element (radians).
///
/// Gradient: ∂(cos x)/∂x = −sin x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func cos<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Cosine(), x, value: x.value.cos())
}
