// An LSTM learns to count: `swift run -c release Parentheses [--epochs N]`.
//
// Each sequence is 24 brackets, "(()(()))(…", drawn as a seeded random walk whose depth stays in
// 0...8. At every position the model says how deep the nesting is after that bracket, which
// needs a counter carried from step to step: what an LSTM's cell state can hold and a
// feed-forward network reading one bracket at a time cannot. Trains on 2,000 sequences, tests
// on 500 others, and prints the accuracy per bracket and per whole sequence, and a few worked
// examples; then the same for 500 sequences twice as long as any it saw. Exits 1 if fewer than
// 95 % of the test sequences are right at every position.
import Backprop
import Foundation

let arguments = CommandLine.arguments
let epochs = arguments.firstIndex(of: "--epochs").flatMap { Int(arguments[$0 + 1]) } ?? 30
let (length, maximumDepth) = (24, 8)

/// A random bracket string (0 is "(", 1 is ")") and the depth after each bracket.
func sequence(length: Int = length, using rng: inout SeededRandomNumberGenerator) -> (
  brackets: [Int], depths: [Int]
) {
  var depth = 0
  var brackets: [Int] = []
  var depths: [Int] = []
  for _ in 0..<length {
    let opens = depth == 0 || (depth < maximumDepth && Bool.random(using: &rng))
    depth += opens ? 1 : -1
    brackets.append(opens ? 0 : 1)
    depths.append(depth)
  }
  return (brackets, depths)
}

var rng = SeededRandomNumberGenerator(seed: 3)
let training = (0..<2000).map { _ in sequence(using: &rng) }
let test = (0..<500).map { _ in sequence(using: &rng) }

let embedding = Embedding<Float>(vocabularySize: 2, embeddingSize: 8, using: &rng)
let lstm = LSTM<Float>(inputSize: 8, hiddenSize: 32, using: &rng)
let head = Dense<Float>(inputSize: 32, outputSize: maximumDepth + 1, using: &rng)
@MainActor func logits(_ brackets: [[Int]]) -> Variable<Float> { head(lstm(embedding(brackets))) }
let parameters = embedding.parameters + lstm.parameters + head.parameters
let adam = Adam(parameters: parameters, learningRate: 1e-2)

print(
  "parentheses: an LSTM of \(parameters.reduce(0) { $0 + $1.value.scalarCount }) parameters, "
    + "\(training.count) training and \(test.count) test sequences of \(length) brackets\n")
let batchSize = 32
let progress = TrainingProgress(totalEpochs: epochs)
var order = Array(training.indices)
for epoch in 0..<epochs {
  order.shuffle(using: &rng)
  var total = 0.0
  for start in stride(from: 0, to: order.count, by: batchSize) {
    let batch = order[start..<min(start + batchSize, order.count)].map { training[$0] }
    adam.zeroGrad()
    let loss = softmaxCrossEntropy(
      logits: logits(batch.map(\.brackets)), target: batch.flatMap(\.depths), ignoreIndex: -1)
    loss.backward()
    clipGradients(of: parameters, maxNorm: 1)
    adam.step()
    total += Double(loss.value.scalar)
  }
  progress.update(
    epoch: epoch + 1, loss: total / Double(order.count / batchSize), steps: order.count / batchSize)
}
progress.finish()

/// The share of brackets and of whole sequences whose depth the model gets right, in %.
@MainActor func score(_ samples: [(brackets: [Int], depths: [Int])], _ label: String) -> (Double, [Int]) {
  let length = samples[0].brackets.count
  let predicted = withoutGradients { logits(samples.map(\.brackets)) }.value.argmax(alongAxis: 2)
  var rightBrackets = 0
  var rightSequences = 0
  for (index, sample) in samples.enumerated() {
    let right = (0..<length).filter { predicted[index * length + $0] == sample.depths[$0] }.count
    rightBrackets += right
    if right == length { rightSequences += 1 }
  }
  let perSequence = 100 * Double(rightSequences) / Double(samples.count)
  print(
    "\(label): \(String(format: "%.1f", 100 * Double(rightBrackets) / Double(samples.count * length)))% of brackets, "
      + "\(String(format: "%.1f", perSequence))% of whole sequences (\(rightSequences)/\(samples.count)) right"
  )
  return (perSequence, predicted)
}
let (perSequence, predicted) = score(test, "test, \(length) brackets")
_ = score((0..<500).map { _ in sequence(length: 2 * length, using: &rng) }, "longer, \(2 * length) brackets")
print()
for index in 0..<3 {
  let brackets = String(test[index].brackets.map { $0 == 0 ? "(" : ")" })
  let depths = (0..<length).map { String(predicted[index * length + $0]) }.joined()
  print("  \(brackets)\n  \(depths)  \(depths == test[index].depths.map(String.init).joined() ? "✓" : "✗")\n")
}
if perSequence < 95 { exit(1) }
