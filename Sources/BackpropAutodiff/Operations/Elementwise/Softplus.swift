import BackpropTensor

/// z = log(1 + e^x). dz/dx = e^x / (1 + e^x) = sigmoid(x). The forward pass evaluates
/// max(x, 0) + log1p(e^−|x|), which never overflows.
struct Softplus<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "softplus" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "sigmoid(\(t.differentiated))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g * inputs[0].sigmoid())
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]! * inputs[0].sigmoid()
  }
}

/// log(1 + e^x) elementwise, a smooth ReLU, evaluated without overflow.
///
/// Gradient: softplus′(x) = sigmoid(x).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softplus<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Softplus(), x, value: x.value.softplus())
}
