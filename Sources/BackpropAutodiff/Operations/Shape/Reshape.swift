import BackpropTensor

/// z = x viewed with another shape. Reshaping moves no scalar, so the gradient is the upstream
/// gradient viewed with x's shape.
struct Reshape<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "reshape" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.reshaped(to: inputs[0].shape))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.reshaped(to: output.shape)
  }
}

extension Variable {
  /// The same scalars with another shape of equal element count.
  ///
  /// Gradient: the upstream gradient reshaped to this variable's shape.
  /// - Precondition: `shape.reduce(1, *)` equals the number of scalars.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func reshaped(to shape: [Int]) -> Variable {
    Variable.record(Reshape(), self, value: value.reshaped(to: shape))
  }

  /// The axes from `axis` on merged into one (PyTorch's `flatten(start_dim:)`); all of them by
  /// default.
  ///
  /// Gradient: the upstream gradient reshaped to this variable's shape (a reshape).
  /// - Precondition: `axis` is in `-rank..<rank` (negative axes count from the end).
  public func flattened(fromAxis axis: Int = 0) -> Variable {
    reshaped(to: Tensor<Scalar>.flattenedShape(shape, fromAxis: axis))
  }
}
