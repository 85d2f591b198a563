import BackpropTensor

/// z = x / y (broadcasting). ∂z/∂x = 1/y, ∂z/∂y = −x/y² = −z/y, each summed back to its
/// operand's shape.
struct Divide<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "/" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? {
    t.input == 0 ? "1/\(grouped(t.operand(1)))" : "−\(grouped(t.operand(0)))/\(grouped(t.operand(1)))²"
  }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(
      needed[0] ? (g / inputs[1]).unbroadcasted(like: inputs[0]) : nil,
      needed[1] ? (-(g * output / inputs[1])).unbroadcasted(like: inputs[1]) : nil)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // Recorded, from the input: a tangent that read its own output would keep it alive.
    let z = G._recordsOperations ? inputs[0] / inputs[1] : output
    return tangentSum(t[0].map { $0 / inputs[1] }, t[1].map { -(z * $0 / inputs[1]) })
  }
}

extension Variable {
  /// Elementwise quotient with NumPy broadcasting.
  ///
  /// Gradient: ∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²; each summed back to its operand's shape.
  /// - Precondition: the shapes broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Variable, rhs: Variable) -> Variable {
    record(Divide(), lhs, rhs, value: lhs.value / rhs.value)
  }
  /// Divides every element by a constant scalar. Gradient: 1/c.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Variable, rhs: Scalar) -> Variable {
    record(Scale(factor: 1 / rhs), lhs, value: lhs.value / rhs)
  }
  /// Divides a constant scalar by every element. Gradient: −c/x².
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Scalar, rhs: Variable) -> Variable { Variable(lhs) / rhs }
  /// Elementwise quotient with a constant tensor (broadcasting). Gradient: 1/c for the numerator, −c/x² for the denominator.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs / Variable(rhs) }
  /// Elementwise quotient with a constant tensor (broadcasting). Gradient: 1/c for the numerator, −c/x² for the denominator.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) / rhs }
}
