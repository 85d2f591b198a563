import BackpropTensor

/// z = x ⊙ y (broadcasting). ∂z/∂x = y, ∂z/∂y = x: the upstream gradient times the other operand,
/// summed back to each operand's shape.
struct Multiply<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "*" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { t.operand(1 - t.input) }
  @_specialize(where Scalar == Float, G == Tensor<Float>)
  @_specialize(where Scalar == Double, G == Tensor<Double>)
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(
      needed[0] ? (g * inputs[1]).unbroadcasted(like: inputs[0]) : nil,
      needed[1] ? (g * inputs[0]).unbroadcasted(like: inputs[1]) : nil)
  }
}

extension Variable {
  /// Elementwise product with NumPy broadcasting.
  ///
  /// Gradient: ∂(x ⊙ y)/∂x = y, ∂(x ⊙ y)/∂y = x; each summed back to its operand's shape.
  /// - Precondition: the shapes broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Variable, rhs: Variable) -> Variable {
    record(Multiply(), Operands(lhs, rhs), value: lhs.value * rhs.value)
  }
  /// Multiplies every element by a constant scalar. Gradient: ∂(c·x)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Variable, rhs: Scalar) -> Variable { lhs * Variable(rhs) }
  /// Multiplies every element by a constant scalar. Gradient: ∂(c·x)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Scalar, rhs: Variable) -> Variable { Variable(lhs) * rhs }
  /// Elementwise product with a constant tensor (broadcasting). Gradient: ∂(x ⊙ c)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs * Variable(rhs) }
  /// Elementwise product with a constant tensor (broadcasting). Gradient: ∂(x ⊙ c)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) * rhs }
}
