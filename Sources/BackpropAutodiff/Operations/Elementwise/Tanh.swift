import BackpropTensor

/// t = tanh x. dt/dx = 1 − tanh² x = 1 − t², computed from the output.
struct Tanh<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "tanh" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1 − \(grouped(t.result))²" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g * (1 - output * output))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // Recorded, from the input: a tangent that read its own output would keep it alive.
    let y = G._recordsOperations ? inputs[0].tanh() : output
    return t[0]! * (1 - y * y)
  }
}

/// The hyperbolic tangent, elementwise.
///
/// Gradient: tanh′(x) = 1 − tanh²(x), computed from the output.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func tanh<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Tanh(), x, value: x.value.tanh())
}
