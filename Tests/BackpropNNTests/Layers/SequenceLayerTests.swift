import Backprop
import BackpropTestSupport
import Foundation
import Testing

@testable import BackpropNN

/// The directory of the PyTorch reference files (`Fixtures/make_fixtures.py` writes them).
let fixtures = "Tests/BackpropNNTests/Fixtures/"

/// The inputs and PyTorch outputs stored beside a fixture.
func fixtureIO(_ name: String) throws -> [String: Tensor<Double>] {
  try SafeTensors.read(from: fixtures + name + "-io.safetensors", as: Double.self)
}

@Suite("Sequence layers")
struct SequenceLayerTests {
  @Test("LSTM and GRU match PyTorch's nn.LSTM and nn.GRU, loaded from their state_dicts")
  func recurrentAgainstPyTorch() throws {
    var rng = SeededRandomNumberGenerator(seed: 1)
    let lstm = LSTM<Double>(inputSize: 3, hiddenSize: 4, using: &rng)
    try StateDictionary.load(from: fixtures + "lstm.safetensors", into: lstm)
    let io = try fixtureIO("lstm")
    let (outputs, state) = lstm(
      Variable(io["input"]!),
      initialState: LSTMCell.State(hidden: Variable(io["h0"]!), cell: Variable(io["c0"]!)))
    #expect(isClose(outputs.value, io["output"]!, absoluteTolerance: 1e-12))
    #expect(isClose(state.hidden.value, io["h"]!, absoluteTolerance: 1e-12))
    #expect(isClose(state.cell.value, io["c"]!, absoluteTolerance: 1e-12))

    let gru = GRU<Double>(inputSize: 3, hiddenSize: 4, using: &rng)
    try StateDictionary.load(from: fixtures + "gru.safetensors", into: gru)
    let gruIO = try fixtureIO("gru")
    let (gruOutputs, last) = gru(Variable(gruIO["input"]!), initialState: Variable(gruIO["h0"]!))
    #expect(isClose(gruOutputs.value, gruIO["output"]!, absoluteTolerance: 1e-12))
    #expect(isClose(last.value, gruIO["h"]!, absoluteTolerance: 1e-12))
  }

  @Test("MultiHeadAttention and TransformerBlock match PyTorch's, with causal and padding masks")
  func attentionAgainstPyTorch() throws {
    var rng = SeededRandomNumberGenerator(seed: 2)
    let attention = MultiHeadAttention<Double>(modelSize: 8, headCount: 2, using: &rng)
    try StateDictionary.load(from: fixtures + "attention.safetensors", into: attention)
    let io = try fixtureIO("attention")
    let x = Variable(io["input"]!)
    #expect(isClose(attention(x).value, io["plain"]!, absoluteTolerance: 1e-12))
    let padding = [[false, false, false, false, false], [false, false, false, true, true]]
    let masked = attention(x, causal: true, paddingMask: padding)
    #expect(isClose(masked.value, io["masked"]!, absoluteTolerance: 1e-12))
    #expect(isClose(attention.lastAttentionWeights!, io["weights"]!, absoluteTolerance: 1e-12))

    let block = TransformerBlock<Double>(
      modelSize: 8, headCount: 2, feedForwardSize: 16, causal: true, using: &rng)
    try StateDictionary.load(from: fixtures + "transformer-block.safetensors", into: block)
    let blockIO = try fixtureIO("transformer-block")
    #expect(isClose(block(Variable(blockIO["input"]!)).value, blockIO["output"]!, absoluteTolerance: 1e-12))
  }

  @Test("Attention's forward pass equals a direct loop over heads, queries and keys")
  func attentionDirectLoop() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let (batch, time, size, heads) = (2, 3, 4, 2)
    let attention = MultiHeadAttention<Double>(modelSize: size, headCount: heads, using: &rng)
    let x = Tensor<Double>(randomNormal: [batch, time, size], using: &rng)
    let result = attention(Variable(x), causal: true).value
    let w = attention.inputWeight.value
    let b = attention.inputBias.value
    let width = size / heads
    for n in 0..<batch {
      /// Projection p (0 q, 1 k, 2 v) of position t, feature j.
      func projected(_ p: Int, _ t: Int, _ j: Int) -> Double {
        (0..<size).reduce(b[scalarAt: p * size + j]) {
          $0 + x[scalarAt: [n, t, $1]] * w[scalarAt: [p * size + j, $1]]
        }
      }
      for t in 0..<time {
        var concatenated = [Double](repeating: 0, count: size)
        for head in 0..<heads {
          let features = (head * width)..<((head + 1) * width)
          let scores = (0...t).map { s in
            features.reduce(0.0) { $0 + projected(0, t, $1) * projected(1, s, $1) }
              / Double(width).squareRoot()
          }
          let largest = scores.max()!
          let exponentials = scores.map { Foundation.exp($0 - largest) }
          let total = exponentials.reduce(0, +)
          for j in features {
            concatenated[j] = (0...t).reduce(0.0) { $0 + exponentials[$1] / total * projected(2, $1, j) }
          }
        }
        for i in 0..<size {
          let expected = (0..<size).reduce(attention.outputBias.value[scalarAt: i]) {
            $0 + concatenated[$1] * attention.outputWeight.value[scalarAt: [i, $1]]
          }
          #expect(Swift.abs(result[scalarAt: [n, t, i]] - expected) < 1e-12)
        }
      }
    }
  }

  @Test("GRUCell's step equals the gate equations written out element by element")
  func gruDirectLoop() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let cell = GRUCell<Double>(inputSize: 2, hiddenSize: 3, using: &rng)
    let x = Tensor<Double>(randomNormal: [2, 2], using: &rng)
    let h = Tensor<Double>(randomNormal: [2, 3], using: &rng)
    let result = cell(Variable(x), state: Variable(h)).value
    let (wi, wh, bi, bh) = (
      cell.weights.inputWeight.value, cell.weights.hiddenWeight.value, cell.weights.inputBias.value,
      cell.weights.hiddenBias.value
    )
    func sigma(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
    for n in 0..<2 {
      func input(_ row: Int) -> Double {
        (0..<2).reduce(bi[scalarAt: row]) { $0 + wi[scalarAt: [row, $1]] * x[scalarAt: [n, $1]] }
      }
      func hidden(_ row: Int) -> Double {
        (0..<3).reduce(bh[scalarAt: row]) { $0 + wh[scalarAt: [row, $1]] * h[scalarAt: [n, $1]] }
      }
      for j in 0..<3 {
        let r = sigma(input(j) + hidden(j))
        let z = sigma(input(3 + j) + hidden(3 + j))
        let candidate = Foundation.tanh(input(6 + j) + r * hidden(6 + j))
        let expected = (1 - z) * candidate + z * h[scalarAt: [n, j]]
        #expect(Swift.abs(result[scalarAt: [n, j]] - expected) < 1e-12)
      }
    }
  }

  @Test("Every new layer's parameter and input gradients agree with finite differences")
  func gradients() {
    var rng = SeededRandomNumberGenerator(seed: 5)
    let x = Tensor<Double>(randomNormal: [2, 3, 4], using: &rng)
    let upstream = Tensor<Double>(randomNormal: [2, 3, 4], using: &rng)
    let layers: [(String, any Layer<Double>)] = [
      ("LSTM", LSTM<Double>(inputSize: 4, hiddenSize: 4, using: &rng)),
      ("GRU", GRU<Double>(inputSize: 4, hiddenSize: 4, using: &rng)),
      ("MultiHeadAttention", MultiHeadAttention<Double>(modelSize: 4, headCount: 2, using: &rng)),
      (
        "TransformerBlock",
        TransformerBlock<Double>(modelSize: 4, headCount: 2, feedForwardSize: 6, causal: true, using: &rng)
      ),
      ("PositionalEmbedding", PositionalEmbedding<Double>(maximumLength: 5, embeddingSize: 4, using: &rng)),
    ]
    for (name, layer) in layers {
      let mismatches = parameterGradientMismatches(layer.namedParameters) {
        (layer(Variable(x)) * upstream).sum()
      }
      #expect(mismatches.isEmpty, "\(name): \(mismatches.prefix(3))")
      let report = checkGradients(at: [x]) { (layer($0[0]) * upstream).sum() }
      #expect(report.passed, "\(name): \(report)")
    }
    let embedding = Embedding<Double>(vocabularySize: 5, embeddingSize: 3, using: &rng)
    let tokens = [[1, 4, 1], [0, 0, 2]]
    let weights = Tensor<Double>(randomNormal: [2, 3, 3], using: &rng)
    let mismatches = parameterGradientMismatches(embedding.namedParameters) {
      (embedding(tokens) * weights).sum()
    }
    #expect(mismatches.isEmpty, "Embedding: \(mismatches.prefix(3))")
    // Rows of tokens that do not occur get no gradient; repeated tokens add up.
    #expect(embedding.weight.grad![3] == Tensor(zeros: [3]))
    #expect(isClose(embedding.weight.grad![1], weights[0][0] + weights[0][2]))
  }

  @Test("Causal attention: changing a future token changes no earlier output")
  func causality() {
    var rng = SeededRandomNumberGenerator(seed: 6)
    let block = TransformerBlock<Double>(
      modelSize: 8, headCount: 2, feedForwardSize: 16, causal: true, using: &rng)
    var x = Tensor<Double>(randomNormal: [1, 6, 8], using: &rng)
    let before = block(Variable(x)).value
    for feature in 0..<8 { x[scalarAt: [0, 4, feature]] += 1 }
    let after = block(Variable(x)).value
    for t in 0..<6 {
      let same = (0..<8).allSatisfy { before[scalarAt: [0, t, $0]] == after[scalarAt: [0, t, $0]] }
      #expect(same == (t < 4), "position \(t)")
    }
  }

  @Test("A query whose keys are all masked gives finite values and gradients")
  func fullyMaskedRows() {
    var rng = SeededRandomNumberGenerator(seed: 7)
    let attention = MultiHeadAttention<Float>(modelSize: 4, headCount: 2, using: &rng)
    let x = Variable(Tensor<Float>(randomNormal: [2, 3, 4], using: &rng), requiresGrad: true)
    let output = attention(x, causal: false, paddingMask: [[true, true, true], [false, true, true]])
    #expect(output.value.scalars.allSatisfy { $0.isFinite })
    output.sum().backward()
    #expect(x.grad!.scalars.allSatisfy { $0.isFinite })
    #expect(attention.inputWeight.grad!.scalars.allSatisfy { $0.isFinite })
    // The first sequence attends to nothing: its output is the output bias alone.
    #expect(isClose(output.value[0][0], attention.outputBias.value))
    #expect(attention.lastAttentionWeights![0].sum().scalar == 0)
  }

  @Test("Sequence cross-entropy skips the ignore index and equals the mean over the rest")
  func sequenceCrossEntropy() {
    var rng = SeededRandomNumberGenerator(seed: 8)
    let logits = Tensor<Double>(randomNormal: [2, 3, 4], using: &rng)
    let targets = [1, -100, 3, 0, 2, -100]
    let loss = softmaxCrossEntropy(logits: Variable(logits), target: targets, ignoreIndex: -100)
    let kept = [(0, 1), (2, 3), (3, 0), (4, 2)]
    let flat = logits.reshaped(to: [6, 4])
    var total = 0.0
    for (row, target) in kept {
      let values = (0..<4).map { flat[scalarAt: [row, $0]] }
      total += Foundation.log(values.map { Foundation.exp($0) }.reduce(0, +)) - values[target]
    }
    let expected = total / 4
    #expect(Swift.abs(loss.value.scalar - expected) < 1e-12)
    let report = checkGradients(at: [logits]) {
      softmaxCrossEntropy(logits: $0[0], target: targets, ignoreIndex: -100)
    }
    #expect(report.passed, "\(report)")
    let none = softmaxCrossEntropy(
      logits: Variable(logits), target: Array(repeating: -1, count: 6), ignoreIndex: -1)
    #expect(none.value.scalar == 0)
    #expect(Tensor<Float>(oneHot: [2, 0], classCount: 3) == Tensor([[0, 0, 1], [1, 0, 0]]))
    #expect(Tensor<Float>.causalMask(length: 3) == Tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]))
  }

  @Test("Checkpoints round-trip every sequence layer bit for bit")
  func checkpoints() throws {
    var rng = SeededRandomNumberGenerator(seed: 9)
    func model(_ rng: inout SeededRandomNumberGenerator) -> Sequential<Float> {
      Sequential {
        Embedding<Float>(vocabularySize: 7, embeddingSize: 8, using: &rng)
        PositionalEmbedding<Float>(maximumLength: 5, embeddingSize: 8, using: &rng)
        TransformerBlock<Float>(modelSize: 8, headCount: 2, feedForwardSize: 16, causal: true, using: &rng)
        LSTM<Float>(inputSize: 8, hiddenSize: 6, using: &rng)
        GRU<Float>(inputSize: 6, hiddenSize: 5, using: &rng)
        Dense<Float>(inputSize: 5, outputSize: 7, using: &rng)
      }
    }
    let source = model(&rng)
    let target = model(&rng)
    let input = Variable(Tensor<Float>([[1, 2, 3, 4], [6, 5, 0, 0]]))
    #expect(source(input).shape == [2, 4, 7])
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    try Checkpoint.save(source, to: scratch.file("sequence.safetensors"))
    try Checkpoint.load(from: scratch.file("sequence.safetensors"), into: target)
    #expect(fingerprint(source, nil) == fingerprint(target, nil))
    #expect(target(input).value == source(input).value)
  }
}
