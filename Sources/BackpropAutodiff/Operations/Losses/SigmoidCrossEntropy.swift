import BackpropTensor

// Composite: softplus(x) − x·z, averaged over every element.

/// Binary cross-entropy between the `target` z ∈ [0, 1] and sigmoid(`logits`) x, averaged over every
/// element, as a rank-0 variable.
///
/// −[z log σ(x) + (1 − z) log(1 − σ(x))] simplifies to softplus(x) − x·z, which the stable
/// ``softplus(_:)`` evaluates without overflow for any finite x (PyTorch's `BCEWithLogitsLoss`).
///
/// Gradient: ∂/∂x = (σ(x) − z) / n for n elements.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoidCrossEntropy<Scalar>(logits: Variable<Scalar>, target: Variable<Scalar>) -> Variable<
  Scalar
> {
  checkLossShapes("sigmoidCrossEntropy(logits:target:)", logits.value, target.value)
  return (softplus(logits) - logits * target).mean()
}

/// Sigmoid cross-entropy against a constant target.
///
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoidCrossEntropy<Scalar>(logits: Variable<Scalar>, target: Tensor<Scalar>) -> Variable<Scalar>
{
  sigmoidCrossEntropy(logits: logits, target: Variable(target))
}
