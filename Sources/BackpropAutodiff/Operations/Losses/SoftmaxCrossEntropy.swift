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

/// Cross-entropy of `logits` against integer class labels, averaged over the positions
/// (PyTorch's `F.cross_entropy(logits.view(-1, C), target.view(-1))`): the mean over the N
/// positions of −log softmax(logitsₙ)[classIndices[n]].
///
/// Gradient: ∂/∂logits = (softmax(logits) − onehot(classIndices)) / N.
/// - Parameters:
///   - logits: Unnormalised scores with the classes on the last axis: `[N, C]` for a batch,
///     `[N, T, C]` for a batch of sequences, `[C]` for one sample.
///   - classIndices: The class of each position, row-major over the leading axes (N of them for
///     `[N, C]`, `N·T` for `[N, T, C]`, one for `[C]`), each in `0..<C`.
/// - Precondition: logits have rank ≥ 1, there is one index per position, and each is in
///   `0..<C`; otherwise the program stops with a message naming the offending index.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, classIndices: [Int]) -> Variable<Scalar> {
  let shape = logits.shape
  check(
    shape.count >= 1,
    "softmaxCrossEntropy(logits:classIndices:): logits must have the classes on an axis, got shape \(shape)")
  let classes = shape[shape.count - 1]
  let rows = shape.dropLast().reduce(1, *)
  check(
    classIndices.count == rows,
    "softmaxCrossEntropy(logits:classIndices:): \(classIndices.count) class indices for \(rows) positions of logits \(shape)"
  )
  var oneHot = [Scalar](repeating: 0, count: rows * classes)
  for (row, index) in classIndices.enumerated() {
    check(
      index >= 0 && index < classes,
      "softmaxCrossEntropy(logits:classIndices:): class index \(index) of position \(row) is outside 0..<\(classes)"
    )
    oneHot[row * classes + index] = 1
  }
  let matrix = shape.count == 2 ? logits : logits.reshaped(to: [rows, classes])
  return softmaxCrossEntropy(logits: matrix, labels: try! Tensor(shape: [rows, classes], scalars: oneHot))
}

/// Cross-entropy of logits `[…, C]` (a sequence's `[N, T, C]`, say) against integer targets,
/// skipping positions whose target is `ignoreIndex`: the mean over the K kept positions of
/// −log softmax(logitsₚ)[classIndices[p]] (PyTorch's
/// `F.cross_entropy(logits.view(-1, C), targets.view(-1), ignore_index=ignoreIndex)`).
///
/// Gradient: ∂/∂logitsₚ = (softmax(logitsₚ) − onehot(classIndices[p])) / K at kept positions,
/// 0 at ignored ones. When every position is ignored the loss is 0 with a zero gradient (where
/// PyTorch gives NaN).
/// - Parameters:
///   - logits: Unnormalised scores with the classes on the last axis.
///   - classIndices: The class of each position, row-major over the leading axes (`N·T` for
///     `[N, T, C]`), each in `0..<C` or equal to `ignoreIndex`.
///   - ignoreIndex: The target value of positions that do not count; PyTorch's default is −100.
/// - Precondition: logits have rank ≥ 2, there is one index per position, and each is in
///   `0..<C` or `ignoreIndex`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, classIndices: [Int], ignoreIndex: Int)
  -> Variable<Scalar>
{
  let shape = logits.shape
  check(
    shape.count >= 2,
    "softmaxCrossEntropy(logits:classIndices:ignoreIndex:): logits must have rank ≥ 2, got shape \(shape)")
  let classes = shape[shape.count - 1]
  let rows = shape.dropLast().reduce(1, *)
  check(
    classIndices.count == rows,
    "softmaxCrossEntropy(logits:classIndices:ignoreIndex:): \(classIndices.count) class indices for \(rows) positions of logits \(shape)"
  )
  let kept = classIndices.filter { $0 != ignoreIndex }.count
  var weights = [Scalar](repeating: 0, count: rows * classes)
  for (row, index) in classIndices.enumerated() where index != ignoreIndex {
    check(
      index >= 0 && index < classes,
      "softmaxCrossEntropy(logits:classIndices:ignoreIndex:): class index \(index) at position \(row) is outside 0..<\(classes) and not the ignore index \(ignoreIndex)"
    )
    weights[row * classes + index] = 1 / Scalar(kept)
  }
  let flat = logits.reshaped(to: [rows, classes])
  let weighting = try! Tensor(shape: [rows, classes], scalars: weights)
  return -(logSoftmax(flat) * weighting).sum()
}
