import BackpropTensor

/// z = x ⊙ y (broadcasting). ∂z/∂x = y, ∂z/∂y = x: the upstream gradient times the other operand,
/// summed back to each operand's shape.
struct Multiply<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "*" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { t.operand(1 - t.input) }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(
      needed[0] ? (g * inputs[1]).unbroadcasted(like: inputs[0]) : nil,
      needed[1] ? (g * inputs[0]).unbroadcasted(like: inputs[1]) : nil)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    tangentSum(t[0].map { $0 * inputs[1] }, t[1].map { inputs[0] * $0 })
  }
}

/// z = c·x, with c a constant scalar. ∂z/∂x = c: the upstream gradient times c.
///
/// The factor is kept in the operation, not recorded as a constant input: that cost a leaf
/// variable per operation (an allocation, and its release with the graph).
struct Scale<Scalar: TensorScalar>: DifferentiableOperation {
  let factor: Scalar
  var name: String { "* constant" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "\(factor)" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g * factor)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]! * factor
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
    record(Multiply(), lhs, rhs, value: lhs.value * rhs.value)
  }
  /// Multiplies every element by a constant scalar. Gradient: ∂(c·x)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Variable, rhs: Scalar) -> Variable {
    record(Scale(factor: rhs), lhs, value: lhs.value * rhs)
  }
  /// Multiplies every element by a constant scalar. Gradient: ∂(c·x)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Scalar, rhs: Variable) -> Variable {
    record(Scale(factor: lhs), rhs, value: lhs * rhs.value)
  }
  /// Elementwise product with a constant tensor (broadcasting). Gradient: ∂(x ⊙ c)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs * Variable(rhs) }
  /// Elementwise product with a constant tensor (broadcasting). Gradient: ∂(x ⊙ c)/∂x = c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) * rhs }
}
