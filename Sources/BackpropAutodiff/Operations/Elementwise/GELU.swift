import BackpropTensor

/// z = x·Φ(x) = ½x(1 + erf(x/√2)), Φ the standard normal distribution function.
/// dz/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π) its density: the product rule, with Φ′ = φ.
struct GELU<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "gelu" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? {
    "Φ(\(t.differentiated)) + \(t.differentiated)·φ(\(t.differentiated))"
  }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    guard !G._recordsOperations else { return Operands(g * inputs[0].geluDerivative()) }
    // For tensors, the product goes into the derivative's own buffer (d·g is g·d, the same bits):
    // no third tensor of the layer's size.
    var product = inputs[0].tensor.geluDerivative()
    product *= g.tensor
    return Operands(unsafeBitCast(product, to: G.self))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]! * inputs[0].geluDerivative()
  }
}

/// The Gaussian error linear unit, exact: x·Φ(x) = ½x(1 + erf(x/√2)), elementwise (PyTorch's
/// `gelu` without the tanh approximation).
///
/// Gradient: Φ(x) + x·φ(x), with φ the standard normal density.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gelu<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(GELU(), x, value: x.value.gelu())
}
