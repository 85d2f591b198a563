// Handwritten digits, learned:
// `swift run -c release Digits [--epochs N] [--data PATH] [--mnist DIR] [--output DIR]`.
//
// Trains an MLP (64-128-10) and a CNN (conv3×3(16)-ReLU-conv3×3(32)-ReLU-maxpool2-flatten-
// dense(64)-ReLU-dense(10)) on the UCI digits in Examples/Data, with the recipe of the reference
// PyTorch runs: Adam (lr 1e-3), batch 32, 30 epochs, seeded shuffling, cross-entropy with
// integer labels; row i is a test sample when i % 5 == 4. Prints each model's test accuracy,
// writes its loss and accuracy curves and prints its confusion matrix and a few misclassified
// digits. Exits 1 if the CNN's test accuracy is below 97 %. With `--mnist DIR` it trains on
// MNIST's IDX files in DIR instead (train-images-idx3-ubyte, …), which cannot ship here.
//
// `--data-parallel`, built with the MPI trait and started by mpirun, trains on every rank at once:
// each rank takes its part of every batch of 32 and `DataParallel` averages the gradients, so the
// ranks train as one process would. Rank 0 prints, with each epoch's time:
//   swift build -c release --traits MPI && mpirun -np 2 .build/release/Digits --data-parallel
import Backprop
import Foundation

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let epochs = option("--epochs").flatMap(Int.init) ?? 30
let dataPath = option("--data") ?? "Examples/Data/digits.csv"
let outputDirectory = option("--output") ?? "output"

/// The ranks with `--data-parallel`, else `nil`.
let world: (any Communicator)? = {
  guard arguments.contains("--data-parallel") else { return nil }
  #if MPI
    do {
      return try MPICommunicator()
    } catch {
      print("Could not start MPI: \(error)")
      exit(2)
    }
  #else
    print("--data-parallel needs the MPI trait: swift build -c release --traits MPI, then mpirun -np 2 …")
    exit(2)
  #endif
}()
/// `true` on the rank that prints and writes files.
let speaks = (world?.rank ?? 0) == 0

/// `body`'s result, or the end of the program with the error of a collective call.
func collective<T>(_ body: () throws(CommunicatorError) -> T) -> T {
  do {
    return try body()
  } catch {
    print("\(error)")
    exit(1)
  }
}

/// The training and test images `[N, side·side]` (scaled to 0...1) and labels.
struct DataSet {
  var trainX: Tensor<Float>
  var trainY: [Int]
  var testX: Tensor<Float>
  var testY: [Int]
  var side: Int
}

func load() throws -> DataSet {
  if let directory = option("--mnist") {
    // MNIST's own files, for users who have them: 60,000 training and 10,000 test images of 28×28.
    func images(_ name: String) throws -> Tensor<Float> {
      let tensor = try IDX.read(from: "\(directory)/\(name)", as: Float.self)
      return tensor.reshaped(to: [tensor.shape[0], tensor.scalarCount / tensor.shape[0]]) / 255
    }
    return DataSet(
      trainX: try images("train-images-idx3-ubyte"),
      trainY: try IDX.readLabels(from: "\(directory)/train-labels-idx1-ubyte"),
      testX: try images("t10k-images-idx3-ubyte"),
      testY: try IDX.readLabels(from: "\(directory)/t10k-labels-idx1-ubyte"),
      side: 28)
  }
  let data = try LabeledCSV.read(from: dataPath, as: Float.self)
  let testRows = data.labels.indices.filter { $0 % 5 == 4 }
  let trainRows = data.labels.indices.filter { $0 % 5 != 4 }
  let pixels = data.features / 16
  return DataSet(
    trainX: pixels.gathering(atIndices: trainRows, alongAxis: 0), trainY: trainRows.map { data.labels[$0] },
    testX: pixels.gathering(atIndices: testRows, alongAxis: 0), testY: testRows.map { data.labels[$0] },
    side: 8)
}

let data: DataSet
do {
  data = try load()
} catch {
  print("Could not read the digits: \(error)")
  exit(2)
}
let (trainX, trainY, testX, testY, side) = (data.trainX, data.trainY, data.testX, data.testY, data.side)
if speaks {
  print(
    "digits: \(trainY.count) training and \(testY.count) test images of \(side)×\(side), \(epochs) epochs"
      + (world.map { ", data-parallel on \($0.size) ranks" } ?? "") + "\n")
}

/// Trains `model` on inputs of `shape` (one sample) and reports on the test set.
@MainActor
func run(_ name: String, _ model: Sequential<Float>, sampleShape: [Int]) -> Double {
  var rng = SeededRandomNumberGenerator(seed: 2)
  let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
  let train = trainX.reshaped(to: [trainY.count] + sampleShape)
  let test = testX.reshaped(to: [testY.count] + sampleShape)
  let progress = speaks && world == nil ? TrainingProgress(totalEpochs: epochs) : nil
  let parallel = world.map { world in
    collective { () throws(CommunicatorError) in
      try DataParallel(model: model, optimizer: adam, communicator: world)
    }
  }
  var losses: [Double] = []
  var accuracies: [Double] = []
  let clock = ContinuousClock()
  let start = clock.now
  for epoch in 0..<epochs {
    let epochStart = clock.now
    var total = 0.0
    var batches = 0
    var minibatches = Minibatches(inputs: train, labels: trainY, batchSize: 32, shuffledUsing: &rng)
    if let world { minibatches = minibatches.sharded(rank: world.rank, of: world.size) }
    for batch in minibatches {
      adam.zeroGrad()
      let loss = softmaxCrossEntropy(logits: model(Variable(batch.inputs)), target: batch.labels)
      loss.backward()
      if let parallel {
        collective { () throws(CommunicatorError) in try parallel.step() }
      } else {
        adam.step()
      }
      total += Double(loss.value.scalar)
      batches += 1
    }
    var meanLoss = total / Double(batches)
    if let world { meanLoss = collective { () throws(CommunicatorError) in try world.average(meanLoss) } }
    losses.append(meanLoss)
    let logits = withLearningPhase(.inference) { withoutGradients { model(Variable(test)) } }.value
    accuracies.append(accuracy(logits: logits, labels: testY))
    progress?.update(epoch: epoch + 1, loss: losses[epoch])
    if let world, speaks {
      let seconds = (clock.now - epochStart) / .seconds(1)
      print(
        "  epoch \(epoch + 1): loss \(String(format: "%.4f", meanLoss)), \(String(format: "%.3f", seconds)) s "
          + "on \(world.size) ranks")
    }
  }
  progress?.finish()
  let seconds = (clock.now - start) / .seconds(1)
  let logits = withLearningPhase(.inference) { withoutGradients { model(Variable(test)) } }.value
  let confusion = ConfusionMatrix(logits: logits, labels: testY)
  guard speaks else { return confusion.accuracy }
  let correct = confusion.counts.indices.reduce(0) { $0 + confusion.counts[$1][$1] }
  print(
    "digits \(name): test accuracy \(String(format: "%.1f", 100 * confusion.accuracy))% "
      + "(\(correct)/\(testY.count)), \(String(format: "%.1f", seconds)) s")
  print(confusion)
  let predictions = logits.argmax(alongAxis: 1)
  let wrong = testY.indices.filter { predictions[$0] != testY[$0] }.prefix(3)
  let shades = Array(" .:-=+*#%@")
  for index in wrong {
    print("\ntest image \(index): a \(testY[index]), taken for a \(predictions[index])")
    let image = testX[index].scalars
    for row in 0..<side {
      print("  " + String((0..<side).map { shades[Int(image[row * side + $0] * 9)] }))
    }
  }
  do {
    _ = mkdir(outputDirectory, 0o755)
    try LossPlot(title: "digits \(name): training loss per epoch", losses: losses, logarithmic: true)
      .write(to: "\(outputDirectory)/digits-\(name)-loss.svg")
    try LossPlot(title: "digits \(name): test accuracy per epoch", losses: accuracies)
      .write(to: "\(outputDirectory)/digits-\(name)-accuracy.svg")
    print("\nWrote \(outputDirectory)/digits-\(name)-loss.svg and digits-\(name)-accuracy.svg\n")
  } catch {
    print("Could not write the curves: \(error)\n")
  }
  return confusion.accuracy
}

var rng = SeededRandomNumberGenerator(seed: 1)
let mlp = Sequential {
  Dense<Float>(inputSize: side * side, outputSize: 128, activation: .relu, using: &rng)
  Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
}
let cnn = Sequential {
  Conv2D<Float>(
    inputChannelCount: 1, outputChannelCount: 16, kernelSize: 3, padding: 1, activation: .relu, using: &rng)
  Conv2D<Float>(
    inputChannelCount: 16, outputChannelCount: 32, kernelSize: 3, padding: 1, activation: .relu, using: &rng)
  MaxPool2D<Float>(kernelSize: 2)
  Flatten<Float>()
  Dense<Float>(inputSize: 32 * (side / 2) * (side / 2), outputSize: 64, activation: .relu, using: &rng)
  Dense<Float>(inputSize: 64, outputSize: 10, using: &rng)
}
_ = run("mlp", mlp, sampleShape: [side * side])
let cnnAccuracy = run("cnn", cnn, sampleShape: [1, side, side])
if cnnAccuracy < 0.97 {
  if speaks { print("The CNN's test accuracy is below 97 %.") }
  exit(1)
}
