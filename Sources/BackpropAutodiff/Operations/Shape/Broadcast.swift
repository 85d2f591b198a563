import BackpropTensor

/// z = x repeated along broadcast dimensions. Every copy of an element contributes to the loss,
/// so the gradient sums the upstream gradient over the broadcast dimensions (unbroadcasting).
struct Broadcast<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "broadcast" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.unbroadcasted(like: inputs[0]))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.broadcasted(like: output)
  }
}

extension Variable {
  /// The variable repeated along its size-1 (and missing leading) dimensions to `shape`.
  ///
  /// Gradient: the upstream gradient summed over the repeated dimensions.
  /// - Precondition: this variable's shape broadcasts to `shape`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func broadcasted(to shape: [Int]) -> Variable {
    Variable.record(Broadcast(), self, value: value.broadcasted(to: shape))
  }

  /// The sum over the dimensions that broadcasting from `shape` added: the adjoint of
  /// ``broadcasted(to:)``, built from ``sum(alongAxes:)`` and ``reshaped(to:)``.
  ///
  /// - Precondition: `shape` broadcasts to this variable's shape.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func unbroadcasted(to shape: [Int]) -> Variable {
    if value.shape == shape { return self }
    return sum(alongAxes: Tensor<Scalar>.broadcastAxes(from: shape, to: value.shape)).reshaped(to: shape)
  }
}
