// A small GPT learns two-digit addition: `swift run -c release Addition [--epochs N] [--output DIR]`.
//
// Every sum a + b of two numbers 0...99 is written as characters, "27+58=085" (the answer
// always three digits), and a transformer learns to continue "27+58=" with "085", the task
// minGPT uses to show that a transformer can learn an algorithm. A seeded shuffle holds out
// 1,000 of the 10,000 pairs; the model trains on the other 9,000 by next-character prediction
// on the answer's characters, then answers the held-out ones greedily, one character at a time.
// Prints progress, `held-out exact match: <percent>% (<correct>/<total>)` and worked examples;
// writes the loss curve and the attention map of one held-out sum to DIR (default output/).
// Exits 1 below 99 %.
import Backprop
import Foundation

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let epochs = option("--epochs").flatMap(Int.init) ?? 20
let outputDirectory = option("--output") ?? "output"

// Tokens: the digits 0–9 are themselves, "+" is 10 and "=" is 11.
let vocabulary = Array("0123456789+=")
func tokens(_ a: Int, _ b: Int) -> [Int] {
  let sum = a + b
  return [a / 10, a % 10, 10, b / 10, b % 10, 11, sum / 100, sum / 10 % 10, sum % 10]
}
func text(_ tokens: [Int]) -> String { String(tokens.map { vocabulary[$0] }) }
let promptLength = 6
let sequenceLength = 9

/// A GPT: token and position embeddings, causal pre-LayerNorm blocks, a final norm and a
/// linear map to the next character's logits.
final class GPT: Layer {
  let tokenEmbedding: Embedding<Float>
  let positionEmbedding: PositionalEmbedding<Float>
  let blocks: [TransformerBlock<Float>]
  let norm: LayerNorm<Float>
  let head: Dense<Float>

  init(modelSize: Int, headCount: Int, layerCount: Int, using rng: inout SeededRandomNumberGenerator) {
    tokenEmbedding = Embedding(
      vocabularySize: vocabulary.count, embeddingSize: modelSize, standardDeviation: 0.02, using: &rng)
    positionEmbedding = PositionalEmbedding(
      maximumLength: sequenceLength, embeddingSize: modelSize, using: &rng)
    blocks = (0..<layerCount).map { _ in
      TransformerBlock(
        modelSize: modelSize, headCount: headCount, feedForwardSize: 4 * modelSize, causal: true, using: &rng)
    }
    norm = LayerNorm(featureCount: modelSize)
    head = Dense(inputSize: modelSize, outputSize: vocabulary.count, using: &rng)
  }

  /// Logits `[N, T, vocabulary]` for token sequences `[N][T]`.
  func logits(_ sequences: [[Int]]) -> Variable<Float> {
    var x = positionEmbedding(tokenEmbedding(sequences))
    for block in blocks { x = block(x) }
    return head(norm(x))
  }

  func callAsFunction(_ input: Variable<Float>) -> Variable<Float> {
    logits(input.value.scalars.map(Int.init).chunked(sequenceLength - 1))
  }

  var layers: [(String, any Layer<Float>)] {
    [("tokenEmbedding", tokenEmbedding), ("positionEmbedding", positionEmbedding)]
      + blocks.enumerated().map { ("blocks.\($0)", $1) } + [("norm", norm), ("head", head)]
  }
  var parameters: [Variable<Float>] { layers.flatMap { $0.1.parameters } }
  var namedTensors: [NamedTensor<Float>] {
    layers.flatMap { name, layer in layer.namedTensors.map { $0.prefixed(by: name) } }
  }

  /// Greedy answers: each prompt continued one most-likely character at a time.
  func answer(_ prompts: [[Int]]) -> [[Int]] {
    var sequences = prompts
    withLearningPhase(.inference) {
      withoutGradients {
        for _ in promptLength..<sequenceLength {
          let logits = self.logits(sequences).value
          let length = sequences[0].count
          for n in sequences.indices {
            let row = (0..<vocabulary.count).map { logits[scalarAt: [n, length - 1, $0]] }
            sequences[n].append(row.indices.max { row[$0] < row[$1] }!)
          }
        }
      }
    }
    return sequences.map { Array($0[promptLength...]) }
  }
}

extension Array {
  func chunked(_ size: Int) -> [[Element]] {
    stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
  }
}

// The 10,000 pairs, a seeded 10 % held out.
var rng = SeededRandomNumberGenerator(seed: 7)
var pairs = (0..<100).flatMap { a in (0..<100).map { b in (a, b) } }
pairs.shuffle(using: &rng)
let heldOut = Array(pairs[0..<1000])
let training = Array(pairs[1000...])

let model = GPT(modelSize: 64, headCount: 4, layerCount: 2, using: &rng)
let batchSize = 64
let stepsPerEpoch = training.count / batchSize
let steps = epochs * stepsPerEpoch
let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-3, weightDecay: 0.01)
optimizer.schedule = LearningRateSchedule.linearWarmup(steps: 100).then(
  after: 100, .cosine(steps: steps - 100))
print(
  "addition: a GPT of \(model.parameters.reduce(0) { $0 + $1.value.scalarCount }) parameters, "
    + "\(training.count) training sums, \(heldOut.count) held out; \(epochs) epochs of \(stepsPerEpoch) batches of \(batchSize)\n"
)

let progress = TrainingProgress(totalEpochs: epochs)
var losses: [Double] = []
var order = Array(training.indices)
let clock = ContinuousClock()
let start = clock.now
for epoch in 0..<epochs {
  order.shuffle(using: &rng)
  for batchIndex in 0..<stepsPerEpoch {
    let batch = order[(batchIndex * batchSize)..<((batchIndex + 1) * batchSize)].map {
      tokens(training[$0].0, training[$0].1)
    }
    // Inputs are the first 8 characters; each position predicts the next one, and only the
    // answer's three characters count.
    let inputs = batch.map { Array($0[0..<(sequenceLength - 1)]) }
    let targets = batch.flatMap { sequence in
      (1..<sequenceLength).map { $0 >= promptLength ? sequence[$0] : -100 }
    }
    optimizer.zeroGrad()
    let loss = softmaxCrossEntropy(logits: model.logits(inputs), target: targets, ignoreIndex: -100)
    loss.backward()
    clipGradients(of: model.parameters, maxNorm: 1)
    optimizer.step()
    losses.append(Double(loss.value.scalar))
  }
  progress.update(
    epoch: epoch + 1, loss: losses.suffix(stepsPerEpoch).reduce(0, +) / Double(stepsPerEpoch),
    steps: stepsPerEpoch)
}
progress.finish()
let seconds = (clock.now - start) / .seconds(1)

// Greedy answers for the held-out sums.
let prompts = heldOut.map { Array(tokens($0.0, $0.1)[0..<promptLength]) }
let answers = prompts.chunked(250).flatMap { model.answer($0) }
let correct = zip(heldOut, answers).filter { pair, answer in
  tokens(pair.0, pair.1)[promptLength...].elementsEqual(answer)
}
let percent = 100 * Double(correct.count) / Double(heldOut.count)
print("held-out exact match: \(String(format: "%.1f", percent))% (\(correct.count)/\(heldOut.count))")
print("trained in \(String(format: "%.0f", seconds)) s\n")
for index in 0..<6 {
  let (a, b) = heldOut[index]
  let mark = tokens(a, b)[promptLength...].elementsEqual(answers[index]) ? "✓" : "✗ (\(a + b))"
  print("  \(text(prompts[index]))\(text(answers[index]))  \(mark)")
}
let mistakes = zip(heldOut, answers).filter { !tokens($0.0.0, $0.0.1)[promptLength...].elementsEqual($0.1) }
for (pair, answer) in mistakes.prefix(3) {
  print(
    "  wrong: \(text(Array(tokens(pair.0, pair.1)[0..<promptLength])))\(text(answer)), not \(pair.0 + pair.1)"
  )
}

// The attention map of the last block for one held-out sum: which characters each predicted
// answer character was read from, averaged over the heads.
let (a, b) = heldOut[0]
let full = tokens(a, b)
_ = withLearningPhase(.inference) {
  withoutGradients { model.logits([Array(full[0..<(sequenceLength - 1)])]) }
}
let weights = model.blocks.last!.attention.lastAttentionWeights!
let heads = weights.shape[1]
let rows = Array((promptLength - 1)..<(sequenceLength - 1))
let map = HeatMap(
  title: "\(text(full)): attention of each prediction, last block, mean of \(heads) heads (%)",
  rowLabels: rows.map { "→\(vocabulary[full[$0 + 1]])" },
  columnLabels: (0..<(sequenceLength - 1)).map { String(vocabulary[full[$0]]) },
  values: rows.map { t in
    (0..<(sequenceLength - 1)).map { s in
      (0..<heads).reduce(0.0) { $0 + Double(weights[scalarAt: [0, $1, t, s]]) } / Double(heads)
    }
  })
do {
  try? FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
  try LossPlot(title: "addition: training loss per step", losses: losses, logarithmic: true)
    .write(to: "\(outputDirectory)/addition-loss.svg")
  try map.write(to: "\(outputDirectory)/addition-attention.svg")
  print("\nWrote \(outputDirectory)/addition-loss.svg and addition-attention.svg")
} catch {
  print("Could not write the pictures: \(error)")
}
if percent < 99 { exit(1) }
