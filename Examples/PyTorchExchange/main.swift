// Weights exchanged with PyTorch through safetensors files:
// `swift run -c release PyTorchExchange [--output DIR]`.
//
// 1. Loads the digits MLP (64-128-10) that PyTorch trained, Examples/Data/digits-mlp-pytorch
//    .safetensors (written by `save_file(model.state_dict(), …)` in digits_mlp.py beside this
//    file), into the equivalent Backprop model, and checks that its logits on the 359 test
//    images match PyTorch's own (Examples/Data/digits-mlp-pytorch-logits.npy) to 1e-5, with the
//    same test accuracy.
// 2. Trains the same MLP in Backprop and saves it for PyTorch: DIR/digits-mlp-backprop
//    .safetensors and its logits DIR/digits-mlp-backprop-logits.npy.
//    `python3 Examples/PyTorchExchange/digits_mlp.py check DIR` loads it with
//    `model.load_state_dict` and compares the logits.
//
// Exits 1 if the logits or the accuracies differ.
import Backprop
import Foundation

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let outputDirectory = option("--output") ?? "output"

/// PyTorch's `nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))`. Its ReLU is a
/// module of its own, so its second linear layer is number 2: `.renumbered([0, 2])` maps keys.
func mlp() -> Sequential<Float> {
  var rng = SeededRandomNumberGenerator(seed: 1)
  return Sequential {
    Dense<Float>(inputSize: 64, outputSize: 128, activation: .relu, using: &rng)
    Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
  }
}
let keys = StateDictionaryKeys.renumbered([0, 2])

/// `"96.1% (345/359)"`: the share of rows whose largest logit is at their label.
func score(_ logits: Tensor<Float>, _ labels: [Int]) -> (text: String, correct: Int) {
  let correct = Int((accuracy(logits: logits, labels: labels) * Double(labels.count)).rounded())
  let percent = (1000 * Double(correct) / Double(labels.count)).rounded() / 10
  return ("\(percent)% (\(correct)/\(labels.count))", correct)
}

do {
  let data = try LabeledCSV.read(from: "Examples/Data/digits.csv", as: Float.self)
  let testRows = data.labels.indices.filter { $0 % 5 == 4 }
  let trainRows = data.labels.indices.filter { $0 % 5 != 4 }
  let pixels = data.features / 16
  let testX = pixels.gathering(atIndices: testRows, alongAxis: 0)
  let testY = testRows.map { data.labels[$0] }

  // PyTorch → Backprop.
  let fromPyTorch = mlp()
  try StateDictionary.load(
    from: "Examples/Data/digits-mlp-pytorch.safetensors", into: fromPyTorch, keys: keys)
  let logits = withLearningPhase(.inference) { fromPyTorch(Variable(testX)).value }
  let pyTorchLogits = try NumPy.read(from: "Examples/Data/digits-mlp-pytorch-logits.npy", as: Float.self)
  let difference = (logits - pyTorchLogits).abs().max().scalar
  let ours = score(logits, testY)
  let theirs = score(pyTorchLogits, testY)
  print("PyTorch's MLP in Backprop: test accuracy \(ours.text), PyTorch's own \(theirs.text);")
  print("  largest logit difference \(difference)")

  // Backprop → PyTorch.
  let model = mlp()
  let trainX = pixels.gathering(atIndices: trainRows, alongAxis: 0)
  let trainY = trainRows.map { data.labels[$0] }
  var rng = SeededRandomNumberGenerator(seed: 2)
  let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
  for _ in 0..<30 {
    for batch in Minibatches(inputs: trainX, labels: trainY, batchSize: 32, shuffledUsing: &rng) {
      adam.zeroGrad()
      softmaxCrossEntropy(logits: model(Variable(batch.inputs)), target: batch.labels).backward()
      adam.step()
    }
  }
  let trainedLogits = withLearningPhase(.inference) { model(Variable(testX)).value }
  let trained = score(trainedLogits, testY)
  try? FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
  try StateDictionary.save(model, to: "\(outputDirectory)/digits-mlp-backprop.safetensors", keys: keys)
  try NumPy.write(trainedLogits, to: "\(outputDirectory)/digits-mlp-backprop-logits.npy")
  print("Backprop's MLP: test accuracy \(trained.text); wrote")
  print("  \(outputDirectory)/digits-mlp-backprop.safetensors and its logits (.npy). In PyTorch:")
  print("  python3 Examples/PyTorchExchange/digits_mlp.py check \(outputDirectory)")

  if difference > 1e-5 || ours.correct != theirs.correct {
    print("The logits or accuracies differ.")
    exit(1)
  }
} catch {
  print("PyTorchExchange: \(error)")
  exit(2)
}
