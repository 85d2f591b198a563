import BackpropTensor

// Composite activations: built from recorded operations, so they need no backward code.

/// The exponential linear unit: x for x > 0 and α(eˣ − 1) otherwise, elementwise.
///
/// Gradient: 1 for x > 0 and αeˣ for x ≤ 0 (α at the kink x = 0, as PyTorch).
/// - Parameters:
///   - x: The input.
///   - alpha: The scale of the negative part; 1 by default.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func elu<Scalar>(_ x: Variable<Scalar>, alpha: Scalar = 1) -> Variable<Scalar> {
  select(x.value .> 0, x, (exp(x) - 1) * alpha)
}

/// The sigmoid linear unit (swish), x·σ(x), elementwise.
///
/// Gradient: σ(x)(1 + x(1 − σ(x))).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func silu<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  x * sigmoid(x)
}
