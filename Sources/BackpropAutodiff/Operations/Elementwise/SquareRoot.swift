import BackpropTensor

/// z = √x. dz/dx = 1 / (2√x) = 1 / (2z), computed from the output.
struct SquareRoot<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "sqrt" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1/(2·\(grouped(t.result)))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g / (output * 2))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // Recorded, from the input: a tangent that read its own output would keep it alive.
    return t[0]! / ((G._recordsOperations ? inputs[0].squareRoot() : output) * 2)
  }
}

/// The square root of each element.
///
/// Gradient: sqrt′(x) = 1 / (2√x) (+∞ at x = 0).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sqrt<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(SquareRoot(), x, value: x.value.squareRoot())
}
