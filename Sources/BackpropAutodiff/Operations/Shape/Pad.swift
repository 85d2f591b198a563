import BackpropTensor

/// z = x placed into zeros of a larger shape at `lowerBounds`: the adjoint of ``Slice``. Each
/// element of x lands once in z, so the gradient is the upstream gradient's box at x's place.
struct Pad<Scalar: TensorScalar>: DifferentiableOperation {
  let shape: [Int]
  let lowerBounds: [Int]
  var name: String { "padded" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let upperBounds = zip(lowerBounds, inputs[0].shape).map { $0 + $1 }
    return Operands(g.slice(lowerBounds: lowerBounds, upperBounds: upperBounds))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.padded(to: shape, at: lowerBounds)
  }
}

extension Variable {
  /// This variable placed into zeros of `shape` with its first element at `lowerBounds`: the
  /// adjoint of ``slice(lowerBounds:upperBounds:)``.
  ///
  /// Gradient: the box of the upstream gradient where this variable was placed.
  /// - Parameters:
  ///   - shape: The shape of the result.
  ///   - lowerBounds: Where this variable's first element goes.
  /// - Precondition: the variable fits: `lowerBounds[d] + self.shape[d] <= shape[d]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func padded(to shape: [Int], at lowerBounds: [Int]) -> Variable {
    Variable.record(
      Pad(shape: shape, lowerBounds: lowerBounds), self,
      value: value.padded(to: shape, at: lowerBounds))
  }
}
