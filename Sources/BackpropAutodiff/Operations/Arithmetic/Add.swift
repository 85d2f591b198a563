import BackpropTensor

/// z = x + y (broadcasting). ∂z/∂x = 1, ∂z/∂y = 1, so each operand receives the upstream
/// gradient, summed over the dimensions broadcasting added to it.
struct Add<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "+" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(
      needed[0] ? g.unbroadcasted(like: inputs[0]) : nil,
      needed[1] ? g.unbroadcasted(like: inputs[1]) : nil)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    tangentSum(t[0]?.broadcasted(like: output), t[1]?.broadcasted(like: output))
  }
}

/// z = x + c or z = x − c, with c a constant scalar or tensor (broadcasting). ∂z/∂x = 1: the
/// upstream gradient, summed back to x's shape.
///
/// The constant is neither an input nor kept: the gradient does not depend on it. Recording it as
/// a constant input cost a leaf variable per operation (an allocation, and its release with the
/// graph).
struct AddConstant<Scalar: TensorScalar>: DifferentiableOperation {
  /// `true` for x − c, which only changes the label.
  let subtracts: Bool
  var name: String { subtracts ? "- constant" : "+ constant" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.unbroadcasted(like: inputs[0]))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.broadcasted(like: output)
  }

  /// The pullback does not read `subtracts`: one closure without a context for both.
  var _tensorPullback: TensorPullback<Scalar> {
    { Self(subtracts: false).pullback($0, inputs: $1, output: $2, needed: $3) }
  }
}

extension Variable {
  /// Elementwise sum with NumPy broadcasting.
  ///
  /// Gradient: ∂(x + y)/∂x = ∂(x + y)/∂y = 1; each operand's gradient is summed back to its shape.
  /// - Precondition: the shapes broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Variable, rhs: Variable) -> Variable {
    record(Add(), lhs, rhs, value: lhs.value + rhs.value)
  }
  /// Adds a constant scalar to every element. Gradient: ∂(x + c)/∂x = 1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Variable, rhs: Scalar) -> Variable {
    record(AddConstant(subtracts: false), lhs, value: lhs.value + rhs)
  }
  /// Adds a constant scalar to every element. Gradient: ∂(c + x)/∂x = 1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Scalar, rhs: Variable) -> Variable {
    record(AddConstant(subtracts: false), rhs, value: lhs + rhs.value)
  }
  /// Elementwise sum with a constant tensor (broadcasting). Gradient: ∂(x + c)/∂x = 1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Variable, rhs: Tensor<Scalar>) -> Variable {
    record(AddConstant(subtracts: false), lhs, value: lhs.value + rhs)
  }
  /// Elementwise sum with a constant tensor (broadcasting). Gradient: ∂(x + c)/∂x = 1.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Tensor<Scalar>, rhs: Variable) -> Variable {
    record(AddConstant(subtracts: false), rhs, value: lhs + rhs.value)
  }
}
