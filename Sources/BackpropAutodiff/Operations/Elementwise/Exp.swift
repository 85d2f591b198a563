import BackpropTensor

/// z = e^x. dz/dx = e^x = z, so the pullback reuses the output.
struct Exp<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "exp" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { t.result }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g * output)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // Recorded, from the input: a tangent that read its own output would keep it alive.
    return t[0]! * (G._recordsOperations ? inputs[0].exp() : output)
  }
}

/// e raised to each element.
///
/// Gradient: exp′(x) = exp(x).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func exp<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Exp(), x, value: x.value.exp())
}
