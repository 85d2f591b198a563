import BackpropTensor

extension Variable {
  /// The population variance along `axes` (PyTorch's `var(unbiased=False)`), keeping each
  /// reduced axis with extent 1: the mean of (x − mean x)².
  ///
  /// A composite of mean, subtraction and product, so its gradient comes from the tape:
  /// ∂/∂xᵢ = 2(xᵢ − mean x) / n over each reduced group of n elements.
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func variance(alongAxes axes: [Int]) -> Variable {
    let centred = self - mean(alongAxes: axes)
    return (centred * centred).mean(alongAxes: axes)
  }
}
