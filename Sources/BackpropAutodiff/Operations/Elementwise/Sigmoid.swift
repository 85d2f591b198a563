import BackpropTensor

/// s = 1 / (1 + e^−x). ds/dx = e^−x / (1 + e^−x)² = s(1 − s). The pullback uses the output s,
/// which is finite for every x, so no overflow can occur even at x = ±1000.
struct Sigmoid<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "sigmoid" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "\(t.result)(1 − \(t.result))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g * (output - output * output))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // Recorded, from the input: a tangent that read its own output would keep it alive.
    let s = G._recordsOperations ? inputs[0].sigmoid() : output
    return t[0]! * (s - s * s)
  }
}

/// The logistic function 1 / (1 + e^−x), elementwise, evaluated without overflow.
///
/// Gradient: sigmoid′(x) = sigmoid(x)·(1 − sigmoid(x)), computed from the output.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoid<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Sigmoid(), x, value: x.value.sigmoid())
}
