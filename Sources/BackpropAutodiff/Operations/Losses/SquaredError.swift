import BackpropTensor

// Composite: ½ Σ (p − e)², built from subtraction, product and sum.

/// The articles' cost J = ½ Σ (p − e)², summed over every element, as a rank-0 variable.
///
/// Gradient: ∂J/∂p = p − e (the ½ cancels the 2 of the square), ∂J/∂e = e − p.
/// - Parameters:
///   - predicted: The network's output.
///   - target: The target, of the same shape as `predicted`.
/// - Precondition: the shapes are equal (as for `meanSquaredError`).
///
/// When `predicted` has a name, the difference is named `"(<predicted> − <target>)"` (`y` for an
/// unnamed target) for graph pictures and chain-rule traces.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func squaredError<Scalar>(predicted: Variable<Scalar>, target: Variable<Scalar>) -> Variable<Scalar> {
  checkLossShapes("squaredError(predicted:target:)", predicted.value, target.value)
  let difference = predicted - target
  if let name = predicted.name { difference.name = "(\(name) − \(target.name ?? "y"))" }
  return (difference * difference).sum() * 0.5
}

/// The articles' cost J = ½ Σ (p − e)² against a constant target.
///
/// Gradient: ∂J/∂p = p − e.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func squaredError<Scalar>(predicted: Variable<Scalar>, target: Tensor<Scalar>) -> Variable<Scalar> {
  checkLossShapes("squaredError(predicted:target:)", predicted.value, target)
  // The target stays a tensor: `p − e` records no leaf for it.
  let difference = predicted - target
  if let name = predicted.name { difference.name = "(\(name) − y)" }
  return (difference * difference).sum() * 0.5
}
