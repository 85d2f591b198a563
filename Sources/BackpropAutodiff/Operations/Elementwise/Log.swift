import BackpropTensor

/// z = ln x. dz/dx = 1/x.
struct Log<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "log" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1/\(grouped(t.differentiated))" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g / inputs[0])
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]! / inputs[0]
  }
}

/// The natural logarithm of each element.
///
/// Gradient: log′(x) = 1/x (+∞ at x = 0; NaN values for x < 0 as in the forward pass).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func log<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Log(), x, value: x.value.log())
}
