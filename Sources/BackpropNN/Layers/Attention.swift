import BackpropAutodiff
import BackpropTensor

/// Multi-head scaled dot-product attention (PyTorch's `nn.MultiheadAttention` with
/// `batch_first=True`, same parameters and layouts):
///
/// ```
/// Q = query·W_qᵀ + b_q,  K = key·W_kᵀ + b_k,  V = value·W_vᵀ + b_v     split into h heads of d
/// headᵢ = softmax(Qᵢ·Kᵢᵀ / √d + mask) · Vᵢ
/// output = concat(head₁ … head_h)·W_oᵀ + b_o
/// ```
///
/// Masked scores get a large negative number rather than −∞ before the softmax, and the
/// weights are then multiplied by the mask, so a query whose keys are all masked attends to
/// nothing: its output is the output bias and every value and gradient is finite (PyTorch gives
/// NaN there). Gradients come from the tape: batched products, `softmax` and the reshapes.
public final class MultiHeadAttention<Scalar: TensorScalar>: Layer {
  /// W_q, W_k and W_v stacked, `[3·modelSize, modelSize]` (PyTorch's `in_proj_weight`).
  public let inputWeight: Variable<Scalar>
  /// b_q, b_k and b_v stacked, `[3·modelSize]` (`in_proj_bias`).
  public let inputBias: Variable<Scalar>
  /// W_o, `[modelSize, modelSize]`, applied as x·W_oᵀ (`out_proj.weight`).
  public let outputWeight: Variable<Scalar>
  /// b_o, `[modelSize]` (`out_proj.bias`).
  public let outputBias: Variable<Scalar>
  /// The number of heads h.
  public let headCount: Int
  /// Dropout on the attention weights in training.
  public let dropout: Dropout<Scalar>
  /// The attention weights of the last call, `[batch, headCount, queries, keys]`: row t of head
  /// i says how much query position t took from each key position. For inspection (attention
  /// maps); `nil` before the first call.
  public private(set) var lastAttentionWeights: Tensor<Scalar>?

  /// - Parameters:
  ///   - modelSize: The size E of each position's vector; a multiple of `headCount`.
  ///   - headCount: The number of heads h; each works on E/h features.
  ///   - dropout: The probability of dropping an attention weight in training; 0 by default.
  ///   - generator: The random source: Glorot-uniform weights, zero biases, as PyTorch.
  public init<G: RandomNumberGenerator>(
    modelSize: Int, headCount: Int, dropout: Scalar = 0, using generator: inout G
  ) {
    check(
      headCount > 0 && modelSize > 0 && modelSize % headCount == 0,
      "MultiHeadAttention: modelSize \(modelSize) must be a positive multiple of headCount \(headCount)")
    self.headCount = headCount
    inputWeight = Variable(
      Initializer.glorotUniform.weights(
        shape: [3 * modelSize, modelSize], fanIn: modelSize, fanOut: 3 * modelSize, using: &generator),
      requiresGrad: true, name: "in_proj_weight")
    inputBias = Variable(Tensor(zeros: [3 * modelSize]), requiresGrad: true, name: "in_proj_bias")
    outputWeight = Variable(
      Initializer.glorotUniform.weights(
        shape: [modelSize, modelSize], fanIn: modelSize, fanOut: modelSize, using: &generator),
      requiresGrad: true, name: "out_proj.weight")
    outputBias = Variable(Tensor(zeros: [modelSize]), requiresGrad: true, name: "out_proj.bias")
    self.dropout = Dropout(probability: dropout, using: &generator)
  }
  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(modelSize: Int, headCount: Int, dropout: Scalar = 0) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(modelSize: modelSize, headCount: headCount, dropout: dropout, using: &generator)
  }

  /// The size E of each position's vector.
  public var modelSize: Int { outputWeight.shape[0] }

  /// Self-attention over `[batch, time, modelSize]`, every position seeing every other.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    self(query: input, key: input, value: input)
  }

  /// Self-attention over `[batch, time, modelSize]`.
  ///
  /// - Parameters:
  ///   - input: The sequence, `[batch, time, modelSize]`.
  ///   - causal: When `true`, position t attends only to positions s ≤ t.
  ///   - paddingMask: `[batch][time]`, `true` at padding positions, which no query attends to
  ///     (PyTorch's `key_padding_mask`); `nil` for none.
  public func callAsFunction(_ input: Variable<Scalar>, causal: Bool, paddingMask: [[Bool]]? = nil)
    -> Variable<Scalar>
  {
    self(query: input, key: input, value: input, causal: causal, paddingMask: paddingMask)
  }

  /// Attention of `query` positions over `key`/`value` positions.
  ///
  /// - Parameters:
  ///   - query: `[batch, queries, modelSize]`.
  ///   - key: `[batch, keys, modelSize]`.
  ///   - value: `[batch, keys, modelSize]`.
  ///   - causal: When `true`, query t attends only to keys s ≤ t.
  ///   - paddingMask: `[batch][keys]`, `true` at keys no query attends to; `nil` for none.
  /// - Returns: `[batch, queries, modelSize]`.
  /// - Precondition: The shapes agree as above and the mask has one flag per key.
  public func callAsFunction(
    query: Variable<Scalar>, key: Variable<Scalar>, value: Variable<Scalar>, causal: Bool = false,
    paddingMask: [[Bool]]? = nil
  ) -> Variable<Scalar> {
    let size = modelSize
    let (batch, queries, keys) = (query.shape[0], query.shape[1], key.shape[1])
    check(
      query.shape.count == 3 && query.shape[2] == size && key.shape == [batch, keys, size]
        && value.shape == key.shape,
      "MultiHeadAttention (\(size), \(headCount) heads): query \(query.shape), key \(key.shape), value \(value.shape); expected [batch, time, \(size)] with keys and values alike"
    )
    let heads = headCount
    let width = size / heads
    /// x·Wᵢᵀ + bᵢ for projection i (0 query, 1 key, 2 value), split into heads: [N, h, T, d].
    func project(_ x: Variable<Scalar>, _ index: Int) -> Variable<Scalar> {
      let time = x.shape[1]
      let weight = inputWeight.slice(
        lowerBounds: [index * size, 0], upperBounds: [(index + 1) * size, size])
      let bias = inputBias.slice(lowerBounds: [index * size], upperBounds: [(index + 1) * size])
      let projected = matmul(x.reshaped(to: [batch * time, size]), weight, transposeB: true) + bias
      return projected.reshaped(to: [batch, time, heads, width]).transposed(permutation: [0, 2, 1, 3])
    }
    let q = project(query, 0)
    let k = project(key, 1)
    let v = project(value, 2)
    var scores = matmul(q, k, transposeB: true) * (1 / Scalar(width).squareRoot())
    var allowed: Tensor<Scalar>?
    if causal || paddingMask != nil {
      let mask = Self.mask(
        batch: batch, queries: queries, keys: keys, causal: causal, paddingMask: paddingMask)
      scores = scores + (1 - mask) * Self.maskedScore
      allowed = mask
    }
    var weights = softmax(scores, alongAxis: -1)
    if let allowed { weights = weights * allowed }
    lastAttentionWeights = weights.value
    weights = dropout(weights)
    let attended = matmul(weights, v).transposed(permutation: [0, 2, 1, 3]).reshaped(to: [
      batch * queries, size,
    ])
    return (matmul(attended, outputWeight, transposeB: true) + outputBias).reshaped(to: [
      batch, queries, size,
    ])
  }

  /// What a masked score becomes: far below any real score, yet finite.
  static var maskedScore: Scalar { -Scalar.greatestFiniteMagnitude / 4 }

  /// 1 where a query may attend to a key, `[batch, 1, queries, keys]`.
  static func mask(batch: Int, queries: Int, keys: Int, causal: Bool, paddingMask: [[Bool]]?) -> Tensor<
    Scalar
  > {
    if let paddingMask {
      check(
        paddingMask.count == batch && paddingMask.allSatisfy { $0.count == keys },
        "MultiHeadAttention: the padding mask must be [\(batch)][\(keys)], got \(paddingMask.count) rows of \(Set(paddingMask.map(\.count)).sorted())"
      )
    }
    var scalars = [Scalar](repeating: 1, count: batch * queries * keys)
    for n in 0..<batch {
      for t in 0..<queries {
        for s in 0..<keys where (causal && s > t) || (paddingMask?[n][s] ?? false) {
          scalars[(n * queries + t) * keys + s] = 0
        }
      }
    }
    return try! Tensor(shape: [batch, 1, queries, keys], scalars: scalars)
  }

  /// The weights and biases.
  public var parameters: [Variable<Scalar>] { [inputWeight, inputBias, outputWeight, outputBias] }

  /// `nn.MultiheadAttention`'s: `in_proj_weight` (``inputWeight``), `in_proj_bias`,
  /// `out_proj.weight` and `out_proj.bias`, all in the same layouts.
  public var namedTensors: [NamedTensor<Scalar>] {
    [
      NamedTensor("in_proj_weight", inputWeight), NamedTensor("in_proj_bias", inputBias),
      NamedTensor("out_proj.weight", outputWeight), NamedTensor("out_proj.bias", outputBias),
    ]
  }
}

/// A pre-LayerNorm transformer block (PyTorch's `nn.TransformerEncoderLayer` with
/// `norm_first=True`, `activation="gelu"`, `batch_first=True`, same parameters):
///
/// ```
/// x = x + dropout(attention(norm₁(x)))
/// x = x + dropout(W₂·dropout(gelu(W₁·norm₂(x))))
/// ```
public final class TransformerBlock<Scalar: TensorScalar>: Layer {
  /// Self-attention (`self_attn`).
  public let attention: MultiHeadAttention<Scalar>
  /// The norm before attention (`norm1`).
  public let attentionNorm: LayerNorm<Scalar>
  /// The norm before the feed-forward network (`norm2`).
  public let feedForwardNorm: LayerNorm<Scalar>
  /// The feed-forward network's first layer, modelSize → feedForwardSize, with GELU (`linear1`).
  public let feedForwardIn: Dense<Scalar>
  /// Its second layer, feedForwardSize → modelSize (`linear2`).
  public let feedForwardOut: Dense<Scalar>
  /// Whether each position attends only to itself and earlier positions (GPT); set at creation.
  public let isCausal: Bool
  let dropouts: [Dropout<Scalar>]

  /// - Parameters:
  ///   - modelSize: The size of each position's vector; a multiple of `headCount`.
  ///   - headCount: The attention heads.
  ///   - feedForwardSize: The width of the feed-forward network, often 4 × modelSize.
  ///   - dropout: The dropout probability in training, on attention weights, the feed-forward
  ///     network and both residual branches; 0 by default.
  ///   - causal: Whether attention is causal (a GPT block); `false` by default.
  ///   - generator: The random source.
  public init<G: RandomNumberGenerator>(
    modelSize: Int, headCount: Int, feedForwardSize: Int, dropout: Scalar = 0, causal: Bool = false,
    using generator: inout G
  ) {
    attention = MultiHeadAttention(
      modelSize: modelSize, headCount: headCount, dropout: dropout, using: &generator)
    attentionNorm = LayerNorm(featureCount: modelSize)
    feedForwardNorm = LayerNorm(featureCount: modelSize)
    feedForwardIn = Dense(
      inputSize: modelSize, outputSize: feedForwardSize, activation: .gelu, weightInitializer: .glorotUniform,
      using: &generator)
    feedForwardOut = Dense(inputSize: feedForwardSize, outputSize: modelSize, using: &generator)
    isCausal = causal
    dropouts = (0..<3).map { _ in Dropout(probability: dropout, using: &generator) }
  }
  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(
    modelSize: Int, headCount: Int, feedForwardSize: Int, dropout: Scalar = 0, causal: Bool = false
  ) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(
      modelSize: modelSize, headCount: headCount, feedForwardSize: feedForwardSize, dropout: dropout,
      causal: causal, using: &generator)
  }

  /// The block applied to `[batch, time, modelSize]`, causal if the block is.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    self(input, paddingMask: nil)
  }

  /// The block applied to `[batch, time, modelSize]`.
  ///
  /// - Parameters:
  ///   - input: The sequence.
  ///   - paddingMask: `[batch][time]`, `true` at padding positions; `nil` for none.
  public func callAsFunction(_ input: Variable<Scalar>, paddingMask: [[Bool]]?) -> Variable<Scalar> {
    let attended = attention(attentionNorm(input), causal: isCausal, paddingMask: paddingMask)
    let x = input + dropouts[0](attended)
    let hidden = dropouts[1](feedForwardIn(feedForwardNorm(x)))
    return x + dropouts[2](feedForwardOut(hidden))
  }

  var sublayers: [(name: String, layer: any Layer<Scalar>)] {
    [
      ("self_attn", attention), ("norm1", attentionNorm), ("norm2", feedForwardNorm),
      ("linear1", feedForwardIn), ("linear2", feedForwardOut),
    ]
  }

  /// Every sublayer's parameters.
  public var parameters: [Variable<Scalar>] { sublayers.flatMap { $0.layer.parameters } }

  /// `nn.TransformerEncoderLayer`'s: the sublayers' tensors under `self_attn.`, `norm1.`,
  /// `norm2.`, `linear1.` and `linear2.`.
  public var namedTensors: [NamedTensor<Scalar>] {
    sublayers.flatMap { sublayer in sublayer.layer.namedTensors.map { $0.prefixed(by: sublayer.name) } }
  }
}
