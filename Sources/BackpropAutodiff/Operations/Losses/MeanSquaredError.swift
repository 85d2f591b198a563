import BackpropTensor

// Composite: mean((p − e)²), built from subtraction, product and mean.

/// The mean of (p − e)² over every element, as a rank-0 variable (PyTorch's `MSELoss`).
///
/// Gradient: ∂/∂p = 2(p − e)/n for n elements.
/// - Parameters:
///   - predicted: The network's output.
///   - expected: The target, of a shape that broadcasts with `predicted`.
///
/// When `predicted` has a name, the difference is named `"(<predicted> − <expected>)"` (`y` for an
/// unnamed target) for graph pictures and chain-rule traces.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar>(predicted: Variable<Scalar>, expected: Variable<Scalar>) -> Variable<
  Scalar
> {
  let difference = predicted - expected
  if let name = predicted.name { difference.name = "(\(name) − \(expected.name ?? "y"))" }
  return (difference * difference).mean()
}

/// The mean of (p − e)² over every element against a constant target.
///
/// Gradient: ∂/∂p = 2(p − e)/n for n elements.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar>(predicted: Variable<Scalar>, expected: Tensor<Scalar>) -> Variable<
  Scalar
> {
  // The target stays a tensor: `p − e` records no leaf for it.
  let difference = predicted - expected
  if let name = predicted.name { difference.name = "(\(name) − y)" }
  return (difference * difference).mean()
}
