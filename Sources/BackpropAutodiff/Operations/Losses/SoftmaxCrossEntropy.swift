import BackpropTensor

// Composite: −Σ target · logSoftmax(logits), averaged over the batch.

/// Cross-entropy between the `target` (a probability distribution along the last axis, e.g.
/// one-hot) and softmax(`logits`), averaged over every other axis (the batch), as a rank-0
/// variable. Finite for any finite logits (the log-sum-exp is shifted by the maximum).
///
/// Gradient: ∂/∂logits = (softmax(logits) − target) / batch size, when each row of the target sums
/// to 1.
/// - Parameters:
///   - logits: Unnormalised scores, `[classes]` or `[batch, classes]` (any leading axes).
///   - target: Target probabilities of the same shape.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, target: Variable<Scalar>) -> Variable<
  Scalar
> {
  check(
    logits.shape == target.shape,
    "softmaxCrossEntropy(logits:target:): logits shape \(logits.shape) ≠ target shape \(target.shape)")
  check(logits.value.rank >= 1, "softmaxCrossEntropy(logits:target:): logits must have rank ≥ 1")
  let classes = logits.shape[logits.value.rank - 1]
  let rows = classes == 0 ? 0 : logits.value.scalarCount / classes
  return -(target * logSoftmax(logits)).sum() * (1 / Scalar(Swift.max(rows, 1)))
}

/// Softmax cross-entropy against constant target probabilities.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, target: Tensor<Scalar>) -> Variable<Scalar>
{
  softmaxCrossEntropy(logits: logits, target: Variable(target))
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
public func softmaxCrossEntropy<Scalar>(logits: Variable<Scalar>, target classIndices: [Int]) -> Variable<
  Scalar
> {
  let shape = logits.shape
  let (rows, classes, oneHot) = classTargets(
    shape, classIndices, ignoreIndex: nil, operation: "softmaxCrossEntropy(logits:target:)", as: Scalar.self)
  let matrix = shape.count == 2 ? logits : logits.reshaped(to: [rows, classes])
  return softmaxCrossEntropy(logits: matrix, target: try! Tensor(shape: [rows, classes], scalars: oneHot))
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
/// - Precondition: logits have rank ≥ 1, there is one index per position, and each is in
///   `0..<C` or `ignoreIndex`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(
  logits: Variable<Scalar>, target classIndices: [Int], ignoreIndex: Int
)
  -> Variable<Scalar>
{
  let (rows, classes, weights) = classTargets(
    logits.shape, classIndices, ignoreIndex: ignoreIndex,
    operation: "softmaxCrossEntropy(logits:target:ignoreIndex:)",
    as: Scalar.self)
  let flat = logits.reshaped(to: [rows, classes])
  let weighting = try! Tensor(shape: [rows, classes], scalars: weights)
  return -(logSoftmax(flat) * weighting).sum()
}

/// The rows and classes of logits of `shape` (`[…, C]`), and the weights of each position's class
/// in a `[rows, C]` matrix: 1 (one-hot) without `ignoreIndex`, 1/K over the K kept positions with
/// it, 0 at ignored positions.
///
/// - Precondition: the shape has an axis, there is one index per position, and each index is in
///   `0..<C` or `ignoreIndex`; the messages name `operation`.
private func classTargets<Scalar: TensorScalar>(
  _ shape: [Int], _ classIndices: [Int], ignoreIndex: Int?, operation: String, as _: Scalar.Type
) -> (rows: Int, classes: Int, weights: [Scalar]) {
  check(!shape.isEmpty, "\(operation): logits must have the classes on an axis, got shape \(shape)")
  let classes = shape[shape.count - 1]
  let rows = shape.dropLast().reduce(1, *)
  check(
    classIndices.count == rows,
    "\(operation): \(classIndices.count) class indices for \(rows) positions of logits \(shape)")
  let kept = ignoreIndex.map { ignored in classIndices.filter { $0 != ignored }.count } ?? rows
  let weight = ignoreIndex == nil ? 1 : 1 / Scalar(kept)
  var weights = [Scalar](repeating: 0, count: rows * classes)
  for (row, index) in classIndices.enumerated() where index != ignoreIndex {
    check(
      index >= 0 && index < classes,
      "\(operation): class index \(index) of position \(row) is outside 0..<\(classes)"
        + (ignoreIndex.map { " and not the ignore index \($0)" } ?? ""))
    weights[row * classes + index] = weight
  }
  return (rows, classes, weights)
}
