import BackpropTensor

/// z = max(x, 0). ∂z/∂x = 1 where x > 0 and 0 where x < 0; at the kink x = 0 we use 0
/// (PyTorch's convention), so a dead unit gets no gradient.
struct ReLU<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "relu" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1 (\(t.differentiated) > 0)" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.zeroed(whereNotPositive: inputs[0]))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.zeroed(whereNotPositive: inputs[0])
  }
}

/// The rectified linear unit max(x, 0), elementwise.
///
/// Gradient: relu′(x) = 1 for x > 0, 0 for x < 0, and 0 at x = 0 by convention.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func relu<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(ReLU(), x, value: x.value.relu())
}
