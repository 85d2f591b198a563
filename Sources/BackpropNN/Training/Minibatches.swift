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
public struct Minibatches<Scalar: TensorScalar>: Sequence, Sendable {
  /// One minibatch.
  public struct Batch: Sendable {
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

  private init(tensors: [Tensor<Scalar>], labels: [Int], batchSize: Int, order: [Int], shard: [[Int]]? = nil)
  {
    self.tensors = tensors
    self.labels = labels
    self.batchSize = batchSize
    self.order = order
    self.shard = shard
  }

  /// A rank's share of each batch, when the batches are sharded (see ``sharded(rank:of:)``).
  private let shard: [[Int]]?

  /// This rank's part of every batch, for data-parallel training (see `DataParallel`): each
  /// batch of these minibatches is cut into `size` contiguous parts as equal as they can be, and
  /// rank `rank` gets part `rank`. Every rank sees the same batches in the same order (the
  /// shuffle came from the seed), so together the ranks see each batch exactly once. With a
  /// batch size divisible by `size`, every part has `batchSize / size` samples.
  ///
  /// - Precondition: `0 <= rank < size`.
  public func sharded(rank: Int, of size: Int) -> Minibatches {
    check(
      size >= 1 && rank >= 0 && rank < size,
      "Minibatches.sharded(rank: \(rank), of: \(size)): not a rank of \(size)")
    var parts: [[Int]] = []
    var start = 0
    while start < order.count {
      let batch = Array(order[start..<Swift.min(start + batchSize, order.count)])
      let lower = batch.count * rank / size
      let upper = batch.count * (rank + 1) / size
      parts.append(Array(batch[lower..<upper]))
      start += batchSize
    }
    return Minibatches(
      tensors: tensors, labels: labels, batchSize: batchSize, order: parts.flatMap { $0 }, shard: parts)
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
  public var count: Int { shard?.count ?? (order.count + batchSize - 1) / batchSize }

  /// The batches of this pass, in order.
  public func makeIterator() -> AnyIterator<Batch> {
    if let shard {
      var next = 0
      return AnyIterator {
        guard next < shard.count else { return nil }
        let indices = shard[next]
        next += 1
        return Batch(
          tensors: tensors.map { $0.gathering(atIndices: indices, alongAxis: 0) },
          labels: labels.isEmpty ? [] : indices.map { labels[$0] }, indices: indices)
      }
    }
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
