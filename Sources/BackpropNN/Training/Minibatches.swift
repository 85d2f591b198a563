import BackpropTensor

/// The samples of a data set in minibatches: every sample exactly once per pass, in an order
/// shuffled by a seeded generator, with a last, smaller batch when the count does not divide
/// (PyTorch's `DataLoader(shuffle=True)`).
///
/// ```swift
/// var rng = SeededRandomNumberGenerator(seed: 1)
/// for epoch in 0..<30 {
///   for batch in Minibatches(inputs: images, labels: labels, batchSize: 32, shuffledUsing: &rng) {
///     let loss = softmaxCrossEntropy(logits: model(Variable(batch.inputs)), target: batch.labels)
///     …
///   }
/// }
/// ```
///
/// Each pass draws a new order from the generator, so a seeded run sees the same batches.
public struct Minibatches<Scalar: TensorScalar>: Sequence {
  /// One minibatch.
  public struct Batch {
    /// The batch's slices of each tensor, in the order the tensors were given.
    public let tensors: [Tensor<Scalar>]
    /// The batch's labels (empty without labels).
    public let labels: [Int]
    /// The positions of the batch's samples in the data set.
    public let indices: [Int]
    /// The first tensor's slices: the inputs.
    public var inputs: Tensor<Scalar> { tensors[0] }
  }

  /// The tensors, all with the samples along their first axis.
  public let tensors: [Tensor<Scalar>]
  /// One label per sample, or empty.
  public let labels: [Int]
  /// The number of samples per batch (the last may have fewer).
  public let batchSize: Int
  /// The order of the samples in this pass.
  public let order: [Int]

  /// Batches of tensors that share their first axis, in a shuffled order.
  ///
  /// - Parameters:
  ///   - tensors: At least one tensor; all have the same extent along axis 0.
  ///   - labels: One integer label per sample, or none.
  ///   - batchSize: The samples per batch, at least 1.
  ///   - generator: Draws this pass's order.
  /// - Precondition: the tensors (and the labels, if any) agree on the number of samples.
  public init<G: RandomNumberGenerator>(
    tensors: [Tensor<Scalar>], labels: [Int] = [], batchSize: Int, shuffledUsing generator: inout G
  ) {
    let count = Self.sampleCount(tensors, labels: labels, batchSize: batchSize)
    self.init(
      tensors: tensors, labels: labels, batchSize: batchSize,
      order: Array(0..<count).shuffled(using: &generator))
  }

  /// Batches of `inputs` and their `labels`, in a shuffled order.
  ///
  /// - Parameters:
  ///   - inputs: The samples along axis 0.
  ///   - labels: One integer label per sample.
  ///   - batchSize: The samples per batch, at least 1.
  ///   - generator: Draws this pass's order.
  public init<G: RandomNumberGenerator>(
    inputs: Tensor<Scalar>, labels: [Int], batchSize: Int, shuffledUsing generator: inout G
  ) {
    self.init(tensors: [inputs], labels: labels, batchSize: batchSize, shuffledUsing: &generator)
  }

  /// Batches in the data set's own order, for evaluation.
  ///
  /// - Parameters:
  ///   - inputs: The samples along axis 0.
  ///   - labels: One integer label per sample, or none.
  ///   - batchSize: The samples per batch, at least 1.
  public init(inputs: Tensor<Scalar>, labels: [Int] = [], batchSize: Int) {
    let count = Self.sampleCount([inputs], labels: labels, batchSize: batchSize)
    self.init(tensors: [inputs], labels: labels, batchSize: batchSize, order: Array(0..<count))
  }

  private init(tensors: [Tensor<Scalar>], labels: [Int], batchSize: Int, order: [Int]) {
    self.tensors = tensors
    self.labels = labels
    self.batchSize = batchSize
    self.order = order
  }

  private static func sampleCount(_ tensors: [Tensor<Scalar>], labels: [Int], batchSize: Int) -> Int {
    check(batchSize >= 1, "Minibatches: batchSize \(batchSize) must be at least 1")
    check(!tensors.isEmpty && tensors.allSatisfy { $0.rank >= 1 }, "Minibatches: needs tensors of rank ≥ 1")
    let count = tensors[0].shape[0]
    check(
      tensors.allSatisfy { $0.shape[0] == count } && (labels.isEmpty || labels.count == count),
      "Minibatches: the tensors \(tensors.map(\.shape)) and \(labels.count) labels disagree on the number of samples"
    )
    return count
  }

  /// The number of batches in a pass.
  public var count: Int { (order.count + batchSize - 1) / batchSize }

  /// The batches of this pass, in order.
  public func makeIterator() -> AnyIterator<Batch> {
    var start = 0
    return AnyIterator {
      guard start < order.count else { return nil }
      let indices = Array(order[start..<Swift.min(start + batchSize, order.count)])
      start += batchSize
      return Batch(
        tensors: tensors.map { $0.gathering(atIndices: indices, alongAxis: 0) },
        labels: labels.isEmpty ? [] : indices.map { labels[$0] }, indices: indices)
    }
  }
}
