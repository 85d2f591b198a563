import BackpropTensor

/// z = x^p for a constant exponent p. dz/dx = p·x^(p−1).
struct Power<Scalar: TensorScalar>: DifferentiableOperation {
  let exponent: Scalar
  var name: String { "pow" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? {
    let p = formatSignificant(Double(exponent))
    let x = grouped(t.differentiated)
    switch exponent {
    case 0: return "0"
    case 1: return "1"
    case 2: return "2·\(x)"
    default: return "\(p)·\(x)^\(formatSignificant(Double(exponent - 1)))"
    }
  }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    if exponent == 0 { return Operands(g * 0) }
    if exponent == 1 { return Operands(g) }
    return Operands(g * inputs[0].pow(exponent - 1) * exponent)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    if exponent == 0 { return t[0]! * 0 }
    if exponent == 1 { return t[0]! }
    return t[0]! * inputs[0].pow(exponent - 1) * exponent
  }
}

/// Each element raised to a constant exponent.
///
/// Gradient: ∂(x^p)/∂x = p·x^(p−1). At x = 0 this is 0 for p > 1 and +∞ for 0 < p < 1; a
/// negative x with a non-integer p gives NaN, as in the forward pass.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(_ x: Variable<Scalar>, _ exponent: Scalar) -> Variable<Scalar> {
  Variable.record(Power(exponent: exponent), x, value: x.value.pow(exponent))
}
