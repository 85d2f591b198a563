import BackpropTensor

// Composite: mean((p − e)²), built from subtraction, product and mean.

/// The mean of (p − e)² over every element, as a rank-0 variable (PyTorch's `MSELoss`).
///
/// Gradient: ∂/∂p = 2(p − e)/n for n elements.
/// - Parameters:
///   - predicted: The network's output.
///   - target: The target, of the same shape as `predicted`.
/// - Precondition: the shapes are equal. A target of another shape stops the program with both
///   shapes in the message: broadcasting `[4, 1]` against `[4]` would compare every prediction
///   with every target (PyTorch only warns). Broadcast explicitly (``Variable/broadcasted(to:)``)
///   when that is what you mean.
///
/// It is recorded as one operation. Graph pictures, chain-rule traces and backward-pass pages
/// show its steps, a difference, its square and their mean; when `predicted` has a name, the
/// difference is named `"(<predicted> − <target>)"` (`y` for an unnamed target).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar>(predicted: Variable<Scalar>, target: Variable<Scalar>) -> Variable<
  Scalar
> {
  checkLossShapes("meanSquaredError(predicted:target:)", predicted.value, target.value)
  return Variable.record(
    meanSquaredErrorOperation(predicted, constantTarget: nil), predicted, target,
    value: SquaredError.value(predicted.value - target.value, isMean: true))
}

/// The mean of (p − e)² over every element against a constant target.
///
/// Gradient: ∂/∂p = 2(p − e)/n for n elements.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar>(predicted: Variable<Scalar>, target: Tensor<Scalar>) -> Variable<
  Scalar
> {
  checkLossShapes("meanSquaredError(predicted:target:)", predicted.value, target)
  // The target stays a tensor: no leaf is recorded for it.
  return Variable.record(
    meanSquaredErrorOperation(predicted, constantTarget: target), predicted,
    value: SquaredError.value(predicted.value - target, isMean: true))
}

/// The operation of `meanSquaredError`, c = 1/n, after checking that there is an element.
private func meanSquaredErrorOperation<Scalar>(_ predicted: Variable<Scalar>, constantTarget: Tensor<Scalar>?)
  -> SquaredError<Scalar>
{
  let count = predicted.value.scalarCount
  check(count > 0, "meanSquaredError(predicted:target:): the prediction of shape \(predicted.shape) is empty")
  return SquaredError(constantTarget: constantTarget, isMean: true)
}

/// Stops with a message naming `loss` and both shapes unless `predicted` and `target` have the
/// same shape: a loss that broadcast them would silently compare the wrong elements.
@inline(__always)
func checkLossShapes<Scalar>(
  _ loss: @autoclosure () -> String, _ predicted: Tensor<Scalar>, _ target: Tensor<Scalar>
) {
  check(
    predicted.hasSameShape(as: target),
    "\(loss()): the prediction's shape \(predicted.shape) ≠ the target's shape \(target.shape); a loss compares element by element, so give both the same shape (reshape or broadcast explicitly)"
  )
}
