import BackpropTensor

/// z = erf x = 2/√π ∫₀ˣ e^(−t²) dt. ∂z/∂x = 2/√π · e^(−x²).
struct Erf<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "erf" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "2/√π·e^(−\(t.differentiated)²)" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let x = inputs[0]
    return Operands(g * (-(x * x)).exp() * Scalar(2 / Double.pi.squareRoot()))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    let x = inputs[0]
    return t[0]! * (-(x * x)).exp() * Scalar(2 / Double.pi.squareRoot())
  }
}

/// The error function of each element, erf x = 2/√π ∫₀ˣ e^(−t²) dt.
///
/// Gradient: ∂(erf x)/∂x = 2/√π · e^(−x²).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func erf<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Erf(), x, value: x.value.erf())
}
