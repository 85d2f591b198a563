import BackpropTensor

/// z = −x. ∂z/∂x = −1.
struct Negate<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "neg" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "−1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(-g)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    -t[0]!
  }
}

extension Variable {
  /// Elementwise negation. Gradient: ∂(−x)/∂x = −1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static prefix func - (operand: Variable) -> Variable {
    record(Negate(), operand, value: -operand.value)
  }
}
