import BackpropTensor

/// z = columns x added back into images (col2im): the adjoint of ``Unfold``. Each column entry
/// lands on one image element (or on the padding, where it is dropped), so its gradient is the
/// upstream gradient unfolded into columns again.
struct Fold<Scalar: TensorScalar>: DifferentiableOperation {
  let windows: SlidingWindows
  let imageSize: [Int]
  var name: String { "folded" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    Operands(g.unfolded(windows))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.folded(windows, imageSize: imageSize)
  }
}

extension Variable {
  /// Columns `[N, C·kh·kw, Ho·Wo]` added back into images `[N, C, H, W]` (col2im, PyTorch's
  /// `F.fold`): the adjoint of ``unfolded(_:)``. Overlapping windows add up.
  ///
  /// Gradient: the upstream images unfolded into columns.
  /// - Parameters:
  ///   - windows: The windows that made the columns.
  ///   - imageSize: `[H, W]` of the images.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func folded(_ windows: SlidingWindows, imageSize: [Int]) -> Variable {
    Variable.record(
      Fold(windows: windows, imageSize: imageSize), self,
      value: value.folded(windows, imageSize: imageSize))
  }
}
