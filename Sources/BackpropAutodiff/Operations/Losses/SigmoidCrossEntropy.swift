import BackpropTensor

// Composite: softplus(x) − x·z, averaged over every element.

/// Binary cross-entropy between `labels` z ∈ [0, 1] and sigmoid(`logits`) x, averaged over every
/// element, as a rank-0 variable.
///
/// −[z log σ(x) + (1 − z) log(1 − σ(x))] simplifies to softplus(x) − x·z, which the stable
/// ``softplus(_:)`` evaluates without overflow for any finite x (PyTorch's `BCEWithLogitsLoss`).
///
/// Gradient: ∂/∂x = (σ(x) − z) / n for n elements.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoidCrossEntropy<Scalar>(logits: Variable<Scalar>, labels: Variable<Scalar>) -> Variable<
  Scalar
> {
  checkLossShapes("sigmoidCrossEntropy(logits:labels:)", logits.value, labels.value)
  return (softplus(logits) - logits * labels).mean()
}

/// Sigmoid cross-entropy against constant labels.
///
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoidCrossEntropy<Scalar>(logits: Variable<Scalar>, labels: Tensor<Scalar>) -> Variable<Scalar>
{
  sigmoidCrossEntropy(logits: logits, labels: Variable(labels))
}
