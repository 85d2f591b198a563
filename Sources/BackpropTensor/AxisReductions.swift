/// The reductions along axes that ``Tensor`` and `Variable` share, and the forms derived from
/// them, so that a reduction is spelled the same on both:
///
/// - `…(alongAxes: [a, b])` keeps each reduced axis with extent 1, so the result broadcasts
///   against its input (`x - x.mean(alongAxes: [1])`);
/// - `…(squeezingAxes: [a, b])` removes the reduced axes, as swift-apis' and NumPy's default;
/// - `…(alongAxis: a)` and `…(squeezingAxis: a)` are the one-axis forms, which read like
///   `argmax(alongAxis:)`.
///
/// Negative axes count from the end. Conforming types implement the four kept-axes reductions;
/// the other forms come from this protocol.
public protocol AxisReductions {
  /// The extents of the axes.
  var shape: [Int] { get }
  /// The same scalars with another shape of equal element count.
  func reshaped(to shape: [Int]) -> Self
  /// The sums along `axes`, keeping each reduced axis with extent 1.
  func sum(alongAxes axes: [Int]) -> Self
  /// The means along `axes`, keeping each reduced axis with extent 1.
  func mean(alongAxes axes: [Int]) -> Self
  /// The largest elements along `axes`, keeping each reduced axis with extent 1.
  func max(alongAxes axes: [Int]) -> Self
  /// The smallest elements along `axes`, keeping each reduced axis with extent 1.
  func min(alongAxes axes: [Int]) -> Self
  /// The population variances along `axes` (PyTorch's `var(unbiased=False)`), keeping each
  /// reduced axis with extent 1.
  func variance(alongAxes axes: [Int]) -> Self
}

extension AxisReductions {
  /// `result` (reduced along `axes` with the axes kept) with those axes removed.
  ///
  /// - Precondition: every axis is in `-rank..<rank` (the reduction has checked it).
  @inlinable
  public func squeezing(_ result: Self, axes: [Int]) -> Self {
    let rank = shape.count
    let removed = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
    return result.reshaped(to: shape.indices.filter { !removed.contains($0) }.map { shape[$0] })
  }

  /// The sums along `axes`, with those axes removed.
  public func sum(squeezingAxes axes: [Int]) -> Self { squeezing(sum(alongAxes: axes), axes: axes) }
  /// The means along `axes`, with those axes removed.
  public func mean(squeezingAxes axes: [Int]) -> Self { squeezing(mean(alongAxes: axes), axes: axes) }
  /// The largest elements along `axes`, with those axes removed.
  public func max(squeezingAxes axes: [Int]) -> Self { squeezing(max(alongAxes: axes), axes: axes) }
  /// The smallest elements along `axes`, with those axes removed.
  public func min(squeezingAxes axes: [Int]) -> Self { squeezing(min(alongAxes: axes), axes: axes) }
  /// The population variances along `axes`, with those axes removed.
  public func variance(squeezingAxes axes: [Int]) -> Self {
    squeezing(variance(alongAxes: axes), axes: axes)
  }

  /// The sums along `axis`, keeping it with extent 1.
  public func sum(alongAxis axis: Int) -> Self { sum(alongAxes: [axis]) }
  /// The means along `axis`, keeping it with extent 1.
  public func mean(alongAxis axis: Int) -> Self { mean(alongAxes: [axis]) }
  /// The largest elements along `axis`, keeping it with extent 1.
  public func max(alongAxis axis: Int) -> Self { max(alongAxes: [axis]) }
  /// The smallest elements along `axis`, keeping it with extent 1.
  public func min(alongAxis axis: Int) -> Self { min(alongAxes: [axis]) }
  /// The population variances along `axis`, keeping it with extent 1.
  public func variance(alongAxis axis: Int) -> Self { variance(alongAxes: [axis]) }

  /// The sums along `axis`, which is removed.
  public func sum(squeezingAxis axis: Int) -> Self { sum(squeezingAxes: [axis]) }
  /// The means along `axis`, which is removed.
  public func mean(squeezingAxis axis: Int) -> Self { mean(squeezingAxes: [axis]) }
  /// The largest elements along `axis`, which is removed.
  public func max(squeezingAxis axis: Int) -> Self { max(squeezingAxes: [axis]) }
  /// The smallest elements along `axis`, which is removed.
  public func min(squeezingAxis axis: Int) -> Self { min(squeezingAxes: [axis]) }
  /// The population variances along `axis`, which is removed.
  public func variance(squeezingAxis axis: Int) -> Self { variance(squeezingAxes: [axis]) }
}
