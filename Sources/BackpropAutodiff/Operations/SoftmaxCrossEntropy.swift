import BackpropTensor

// Composite: −Σ labels · logSoftmax(logits), averaged over the batch.

/// Cross-entropy between `labels` (a probability distribution along the last axis, e.g.
/// one-hot) and softmax(`logits`), averaged over every other axis (the batch), as a rank-0
/// variable. Finite for any finite logits (the log-sum-exp is shifted by the maximum).
///
/// Gradient: ∂/∂logits = (softmax(logits) − labels) / batch size, when each row of labels sums
/// to 1.
/// - Parameters:
///   - logits: Unnormalised scores, `[classes]` or `[batch, classes]` (any leading axes).
///   - labels: Target probabilities of the same shape.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, labels: Variable<Scalar>) -> Variable<
  Scalar
> {
  check(
    logits.shape == labels.shape,
    "softmaxCrossEntropy(logits:labels:): logits shape \(logits.shape) ≠ labels shape \(labels.shape)")
  check(logits.value.rank >= 1, "softmaxCrossEntropy(logits:labels:): logits must have rank ≥ 1")
  let classes = logits.shape[logits.value.rank - 1]
  let rows = classes == 0 ? 0 : logits.value.scalarCount / classes
  return -(labels * logSoftmax(logits)).sum() * (1 / Scalar(Swift.max(rows, 1)))
}

/// Softmax cross-entropy against constant target probabilities.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, labels: Tensor<Scalar>) -> Variable<Scalar>
{
  softmaxCrossEntropy(logits: logits, labels: Variable(labels))
}

/// Cross-entropy of `logits` against integer class labels, averaged over the batch (PyTorch's
/// `F.cross_entropy(logits, target)`): the mean over n of −log softmax(logitsₙ)[classIndices[n]].
///
/// Gradient: ∂/∂logits = (softmax(logits) − onehot(classIndices)) / N.
/// - Parameters:
///   - logits: Unnormalised scores, `[N, C]`.
///   - classIndices: The class of each of the N rows, each in `0..<C`.
/// - Precondition: logits have rank 2, there are N indices, and each is in `0..<C`; otherwise
///   the program stops with a message naming the offending index.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, classIndices: [Int]) -> Variable<Scalar> {
  let shape = logits.shape
  check(
    shape.count == 2, "softmaxCrossEntropy(logits:classIndices:): logits must be [N, C], got shape \(shape)")
  let (rows, classes) = (shape[0], shape[1])
  check(
    classIndices.count == rows,
    "softmaxCrossEntropy(logits:classIndices:): \(classIndices.count) class indices for \(rows) rows of logits"
  )
  var oneHot = [Scalar](repeating: 0, count: rows * classes)
  for (row, index) in classIndices.enumerated() {
    check(
      index >= 0 && index < classes,
      "softmaxCrossEntropy(logits:classIndices:): class index \(index) of row \(row) is outside 0..<\(classes)"
    )
    oneHot[row * classes + index] = 1
  }
  return softmaxCrossEntropy(logits: logits, labels: try! Tensor(shape: shape, scalars: oneHot))
}
