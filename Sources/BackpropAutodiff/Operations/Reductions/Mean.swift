import BackpropTensor

// Composite: built from `sum` and a constant scale, so it needs no backward code of its own.
extension Variable {
  /// The mean of all elements, as a rank-0 variable: `sum() / n`.
  ///
  /// Gradient: ∂(mean x)/∂xᵢ = 1/n.
  /// - Precondition: the variable is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean() -> Variable {
    check(value.scalarCount > 0, "mean(): variable of shape \(value.shape) is empty")
    return sum() * (1 / Scalar(value.scalarCount))
  }

  /// The means along `axes`, keeping each reduced axis with extent 1.
  ///
  /// Gradient: 1/n along each reduced group of n elements.
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean(alongAxes axes: [Int]) -> Variable {
    let summed = sum(alongAxes: axes)
    let count = value.scalarCount / Swift.max(summed.value.scalarCount, 1)
    check(count > 0, "mean(alongAxes:): reducing an empty axis of shape \(value.shape)")
    return summed * (1 / Scalar(count))
  }
}
