import BackpropTensor

/// z = x − y (broadcasting). ∂z/∂x = 1, ∂z/∂y = −1, each summed back to its operand's shape.
struct Subtract<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "-" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { t.input == 0 ? "1" : "−1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(
      needed[0] ? g.unbroadcasted(like: inputs[0]) : nil,
      needed[1] ? (-g).unbroadcasted(like: inputs[1]) : nil)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    tangentSum(t[0]?.broadcasted(like: output), t[1].map { (-$0).broadcasted(like: output) })
  }
}

extension Variable {
  /// Elementwise difference with NumPy broadcasting.
  ///
  /// Gradient: ∂(x − y)/∂x = 1, ∂(x − y)/∂y = −1; each summed back to its operand's shape.
  /// - Precondition: the shapes broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Variable, rhs: Variable) -> Variable {
    record(Subtract(), lhs, rhs, value: lhs.value - rhs.value)
  }
  /// Subtracts a constant scalar from every element. Gradient: 1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Variable, rhs: Scalar) -> Variable {
    record(AddConstant(subtracts: true), lhs, value: lhs.value - rhs)
  }
  /// Subtracts every element from a constant scalar. Gradient: −1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Scalar, rhs: Variable) -> Variable { Variable(lhs) - rhs }
  /// Elementwise difference with a constant tensor (broadcasting). Gradient: ±1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Variable, rhs: Tensor<Scalar>) -> Variable {
    record(AddConstant(subtracts: true), lhs, value: lhs.value - rhs)
  }
  /// Elementwise difference with a constant tensor (broadcasting). Gradient: ±1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) - rhs }
}
