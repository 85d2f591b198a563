import BackpropAutodiff
import BackpropTensor

/// A table of learned vectors, one per token: token ids `[N]` or `[N, T]` become
/// `[N, embeddingSize]` or `[N, T, embeddingSize]` (PyTorch's `nn.Embedding`).
///
/// The lookup is `weight.gathering(atIndices:alongAxis: 0)`, so the gradient scatter-adds each
/// position's upstream gradient into its token's row: ∂L/∂weight[v] = Σ over positions p with
/// token v of ∂L/∂outputₚ. Rows of tokens that do not occur get no gradient.
public final class Embedding<Scalar: TensorScalar>: Layer {
  /// The vectors, `[vocabularySize, embeddingSize]`.
  public let weight: Variable<Scalar>

  /// - Parameters:
  ///   - vocabularySize: How many tokens there are; ids run over `0..<vocabularySize`.
  ///   - embeddingSize: The length of each vector.
  ///   - standardDeviation: The weights are drawn from N(0, standardDeviation²); 1 by default,
  ///     as PyTorch (GPT-style models use 0.02).
  ///   - generator: The random source.
  public init<G: RandomNumberGenerator>(
    vocabularySize: Int, embeddingSize: Int, standardDeviation: Scalar = 1, using generator: inout G
  ) {
    check(
      vocabularySize > 0 && embeddingSize > 0,
      "Embedding: vocabularySize \(vocabularySize) and embeddingSize \(embeddingSize) must be positive")
    weight = Variable(
      Tensor(
        randomNormal: [vocabularySize, embeddingSize], standardDeviation: standardDeviation, using: &generator
      ),
      requiresGrad: true, name: "weight")
  }

  /// A table drawn from a generator seeded by the system's random source.
  public convenience init(vocabularySize: Int, embeddingSize: Int, standardDeviation: Scalar = 1) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(
      vocabularySize: vocabularySize, embeddingSize: embeddingSize, standardDeviation: standardDeviation,
      using: &generator)
  }

  /// How many tokens the table has.
  public var vocabularySize: Int { weight.shape[0] }
  /// The length of each vector.
  public var embeddingSize: Int { weight.shape[1] }

  /// The vectors of `tokenIDs`, `[tokenIDs.count, embeddingSize]`.
  ///
  /// - Precondition: Every id is in `0..<vocabularySize`.
  public func callAsFunction(_ tokenIDs: [Int]) -> Variable<Scalar> {
    for (position, id) in tokenIDs.enumerated() where id < 0 || id >= vocabularySize {
      checkFailed(
        "Embedding (\(vocabularySize) tokens): token id \(id) at position \(position) is out of range")
    }
    return weight.gathering(atIndices: tokenIDs, alongAxis: 0)
  }

  /// The vectors of sequences of token ids, `[N, T, embeddingSize]`.
  ///
  /// - Precondition: Every sequence has the same length and every id is in `0..<vocabularySize`.
  public func callAsFunction(_ sequences: [[Int]]) -> Variable<Scalar> {
    let length = sequences.first?.count ?? 0
    check(
      sequences.allSatisfy { $0.count == length },
      "Embedding: sequences of different lengths \(Set(sequences.map(\.count)).sorted())")
    return self(sequences.flatMap { $0 }).reshaped(to: [sequences.count, length, embeddingSize])
  }

  /// The vectors of token ids held as whole numbers in `input` (`[N]` or `[N, T]`), with one
  /// more axis of `embeddingSize`; so that an embedding can open a ``Sequential``.
  ///
  /// - Precondition: Every value is a whole number in `0..<vocabularySize`.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let ids = input.value.scalars.map { value in
      guard value.rounded() == value, value >= 0, value < Scalar(vocabularySize) else {
        checkFailed("Embedding (\(vocabularySize) tokens): \(value) is not a token id")
      }
      return Int(value)
    }
    return self(ids).reshaped(to: input.shape + [embeddingSize])
  }

  /// `[weight]`.
  public var parameters: [Variable<Scalar>] { [weight] }

  /// `nn.Embedding`'s `"weight"`.
  public var namedTensors: [NamedTensor<Scalar>] { [NamedTensor("weight", weight)] }
}

/// Learned positional embeddings: adds row t of a `[maximumLength, embeddingSize]` table to
/// position t of a sequence `[N, T, embeddingSize]` (GPT-2's `wpe`).
///
/// Gradient: ∂L/∂weight[t] = Σ over the batch of ∂L/∂output[n, t]; the input's gradient passes
/// through unchanged.
public final class PositionalEmbedding<Scalar: TensorScalar>: Layer {
  /// One vector per position, `[maximumLength, embeddingSize]`.
  public let weight: Variable<Scalar>

  /// - Parameters:
  ///   - maximumLength: The longest sequence the layer accepts.
  ///   - embeddingSize: The length of each vector.
  ///   - standardDeviation: The weights are drawn from N(0, standardDeviation²); 0.02 by
  ///     default, as GPT-2.
  ///   - generator: The random source.
  public init<G: RandomNumberGenerator>(
    maximumLength: Int, embeddingSize: Int, standardDeviation: Scalar = 0.02, using generator: inout G
  ) {
    check(
      maximumLength > 0 && embeddingSize > 0,
      "PositionalEmbedding: maximumLength \(maximumLength) and embeddingSize \(embeddingSize) must be positive"
    )
    weight = Variable(
      Tensor(
        randomNormal: [maximumLength, embeddingSize], standardDeviation: standardDeviation, using: &generator),
      requiresGrad: true, name: "weight")
  }
  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(maximumLength: Int, embeddingSize: Int, standardDeviation: Scalar = 0.02) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(
      maximumLength: maximumLength, embeddingSize: embeddingSize, standardDeviation: standardDeviation,
      using: &generator)
  }

  /// `input` plus each position's vector.
  ///
  /// - Precondition: `input` is `[N, T, embeddingSize]` with T ≤ `maximumLength`.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let shape = input.shape
    let (length, size) = (weight.shape[0], weight.shape[1])
    check(
      shape.count == 3 && shape[1] <= length && shape[2] == size,
      "PositionalEmbedding (\(length) positions of \(size)): input of shape \(shape); expected [batch, ≤ \(length), \(size)]"
    )
    return input + weight[0..<shape[1]]
  }

  /// `[weight]`.
  public var parameters: [Variable<Scalar>] { [weight] }

  /// `"weight"`.
  public var namedTensors: [NamedTensor<Scalar>] { [NamedTensor("weight", weight)] }
}
