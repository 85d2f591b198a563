import BackpropTensor

/// z = the windows of images x as columns (im2col). Each image element is copied into every
/// column of a window that covers it, so its gradient is the sum of those columns' upstream
/// gradients (``Fold``, col2im).
struct Unfold<Scalar: TensorScalar>: DifferentiableOperation {
  let windows: SlidingWindows
  var name: String { "unfolded" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let shape = inputs[0].shape
    return Operands(g.folded(windows, imageSize: [shape[2], shape[3]]))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.unfolded(windows)
  }
}

extension Variable {
  /// Every window of an image batch `[N, C, H, W]` as a column: `[N, C·kh·kw, Ho·Wo]` (im2col,
  /// PyTorch's `F.unfold`). Convolutions and pooling are built on it.
  ///
  /// Gradient: the upstream columns added back into the images (col2im); an element covered by
  /// several windows receives the sum.
  /// - Precondition: rank 4, and at least one window fits.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func unfolded(_ windows: SlidingWindows) -> Variable {
    Variable.record(Unfold(windows: windows), self, value: value.unfolded(windows))
  }
}
