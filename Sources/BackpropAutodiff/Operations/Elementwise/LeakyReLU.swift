import BackpropTensor

/// z = x for x > 0 and αx otherwise. ∂z/∂x = 1 for x > 0 and α for x ≤ 0 (at the kink x = 0
/// the slope α, as PyTorch's `leaky_relu` backward does).
struct LeakyReLU<Scalar: TensorScalar>: DifferentiableOperation {
  let alpha: Scalar
  var name: String { "leakyRelu" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1 (\(t.differentiated) > 0) or \(alpha)" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let alpha = alpha
    return Operands(g.multiplied(byConstant: inputs[0].tensor.map { $0 > 0 ? 1 : alpha }))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    let alpha = alpha
    return t[0]!.multiplied(byConstant: inputs[0].tensor.map { $0 > 0 ? 1 : alpha })
  }
}

/// The leaky rectified linear unit: x for x > 0 and αx otherwise, elementwise.
///
/// Gradient: 1 for x > 0, α for x ≤ 0 (α at the kink, as PyTorch).
/// - Parameters:
///   - x: The input.
///   - alpha: The slope for x ≤ 0; 0.01 by default, as PyTorch.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func leakyRelu<Scalar>(_ x: Variable<Scalar>, alpha: Scalar = 0.01) -> Variable<Scalar> {
  Variable.record(LeakyReLU(alpha: alpha), x, value: x.value.map { $0 > 0 ? $0 : alpha * $0 })
}
