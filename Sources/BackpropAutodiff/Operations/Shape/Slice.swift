import BackpropTensor

/// z = x[lowerBounds ..< upperBounds]. Each element of the box is copied once, so the gradient
/// is the upstream gradient placed back into zeros of x's shape (``Pad``).
struct Slice<Scalar: TensorScalar>: DifferentiableOperation {
  let lowerBounds: [Int]
  let upperBounds: [Int]
  var name: String { "slice" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.padded(to: inputs[0].shape, at: lowerBounds))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.slice(lowerBounds: lowerBounds, upperBounds: upperBounds)
  }
}

extension Variable {
  /// The half-open box `lowerBounds[d] ..< upperBounds[d]` along every axis `d`.
  ///
  /// Gradient: the upstream gradient placed into zeros of this variable's shape, at the box.
  /// - Parameters:
  ///   - lowerBounds: The first index kept along each axis.
  ///   - upperBounds: One past the last index kept along each axis.
  /// - Precondition: one bound per axis, and `0 <= lowerBounds[d] <= upperBounds[d] <= shape[d]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func slice(lowerBounds: [Int], upperBounds: [Int]) -> Variable {
    Variable.record(
      Slice(lowerBounds: lowerBounds, upperBounds: upperBounds), self,
      value: value.slice(lowerBounds: lowerBounds, upperBounds: upperBounds))
  }

  /// The slice at `index` of the first axis, without that axis (PyTorch's `x[index]`): one
  /// sample of a batch. Negative indices count from the end.
  ///
  /// Gradient: the upstream gradient placed into zeros at row `index`.
  /// - Precondition: rank ≥ 1 and `-shape[0] <= index < shape[0]`.
  public subscript(index: Int) -> Variable {
    let shape = self.shape
    let (lower, upper) = Tensor<Scalar>.rowBox(index, of: shape, operation: "Variable")
    return slice(lowerBounds: lower, upperBounds: upper).reshaped(to: Array(shape.dropFirst()))
  }

  /// The slices in `range` of the first axis, keeping that axis (PyTorch's `x[1:3]`): a
  /// minibatch out of a batch.
  ///
  /// Gradient: the upstream gradient placed into zeros at those rows.
  /// - Precondition: rank ≥ 1 and `range` lies within `0...shape[0]`.
  public subscript<Bounds: RangeExpression<Int>>(range: Bounds) -> Variable {
    let (lower, upper) = Tensor<Scalar>.rowsBox(range, of: shape, operation: "Variable")
    return slice(lowerBounds: lower, upperBounds: upper)
  }
}
