import BackpropTensor

// Composites: built from exp, log, sum and subtraction, so they need no backward code.
//
// Stability: log Σ e^x = m + log Σ e^(x − m) for any constant m. With m = max x (held constant,
// through `detached`, which is exact because the identity holds for every m) every exponent is
// ≤ 0, so nothing overflows, and the sum is ≥ 1, so the logarithm is finite.

/// log Σ e^x along `axes`, keeping the reduced axes with extent 1, computed without overflow.
///
/// Gradient: ∂/∂xᵢ = e^xᵢ / Σ e^x = softmax(x)ᵢ.
/// - Precondition: every axis is in `-rank..<rank`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func logSumExp<Scalar>(_ x: Variable<Scalar>, alongAxes axes: [Int]) -> Variable<Scalar> {
  let shift = Variable(x.value.max(alongAxes: axes))
  return log(exp(x - shift).sum(alongAxes: axes)) + shift
}

/// log Σ e^x along `axes`, with those axes removed.
///
/// Gradient: softmax(x) along the reduced axes, as `logSumExp(_:alongAxes:)`.
/// - Precondition: every axis is in `-rank..<rank`.
public func logSumExp<Scalar>(_ x: Variable<Scalar>, squeezingAxes axes: [Int]) -> Variable<Scalar> {
  x.squeezing(logSumExp(x, alongAxes: axes), axes: axes)
}

/// log Σ e^x along `axis`, keeping it with extent 1.
///
/// Gradient: softmax(x) along `axis`.
/// - Precondition: `axis` is in `-rank..<rank`.
public func logSumExp<Scalar>(_ x: Variable<Scalar>, alongAxis axis: Int) -> Variable<Scalar> {
  logSumExp(x, alongAxes: [axis])
}

/// log Σ e^x along `axis`, which is removed.
///
/// Gradient: softmax(x) along `axis`.
/// - Precondition: `axis` is in `-rank..<rank`.
public func logSumExp<Scalar>(_ x: Variable<Scalar>, squeezingAxis axis: Int) -> Variable<Scalar> {
  logSumExp(x, squeezingAxes: [axis])
}

/// log softmax along `axis` (the last by default): x − logSumExp(x), computed without overflow.
///
/// Gradient: ∂/∂xⱼ log softmax(x)ᵢ = δᵢⱼ − softmax(x)ⱼ, within each slice along the axis.
/// - Parameters:
///   - x: Scores.
///   - axis: The axis whose slices are normalised, in `-rank..<rank`; `-1` by default.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func logSoftmax<Scalar>(_ x: Variable<Scalar>, alongAxis axis: Int = -1) -> Variable<Scalar> {
  x - logSumExp(x, alongAxes: [axis])
}

/// softmax along `axis` (the last by default): e^x / Σ e^x, computed without overflow.
///
/// Gradient: ∂softmax(x)ᵢ/∂xⱼ = softmax(x)ᵢ (δᵢⱼ − softmax(x)ⱼ), within each slice along the axis.
/// - Parameters:
///   - x: Scores.
///   - axis: The axis whose slices are normalised, in `-rank..<rank`; `-1` by default.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmax<Scalar>(_ x: Variable<Scalar>, alongAxis axis: Int = -1) -> Variable<Scalar> {
  exp(logSoftmax(x, alongAxis: axis))
}

extension Variable: AxisReductions {}
