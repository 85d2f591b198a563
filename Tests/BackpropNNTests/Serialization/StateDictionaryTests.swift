import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropNN

@Suite("State dictionaries: models exchanged with PyTorch")
struct StateDictionaryTests {
  static func mlp() -> Sequential<Float> {
    var rng = SeededRandomNumberGenerator(seed: 1)
    return Sequential {
      Dense<Float>(inputSize: 64, outputSize: 128, activation: .relu, using: &rng)
      Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
    }
  }

  @Test("PyTorch's digits MLP, saved by safetensors.torch, gives PyTorch's logits to 1e-5")
  func pyTorchFile() throws {
    let model = Self.mlp()
    try StateDictionary.load(
      from: "Examples/Data/digits-mlp-pytorch.safetensors", into: model, keys: .renumbered([0, 2]))
    let data = try LabeledCSV.read(from: "Examples/Data/digits.csv", as: Float.self)
    let testRows = data.labels.indices.filter { $0 % 5 == 4 }
    let testX = (data.features / 16).gathering(atIndices: testRows, alongAxis: 0)
    let logits = withLearningPhase(.inference) { model(Variable(testX)).value }
    let expected = try NumPy.read(from: "Examples/Data/digits-mlp-pytorch-logits.npy", as: Float.self)
    #expect((logits - expected).abs().max().scalar <= 1e-5)
    #expect(logits.argmax(alongAxis: 1) == expected.argmax(alongAxis: 1))
  }

  @Test("Keys and layouts are PyTorch's: Linear transposed, Conv2d as is, norms renamed")
  func layouts() throws {
    var rng = SeededRandomNumberGenerator(seed: 2)
    let norm = BatchNorm<Double>(featureCount: 2)
    let model = Sequential {
      Conv2D<Double>(inputChannelCount: 1, outputChannelCount: 2, kernelSize: 3, padding: 1, using: &rng)
      norm
      Flatten<Double>()
      LayerNorm<Double>(featureCount: 32)
      Dense<Double>(inputSize: 32, outputSize: 3, using: &rng)
    }
    _ = model(Variable(Tensor<Double>(randomUniform: [4, 1, 4, 4], using: &rng)))
    _ = model(Variable(Tensor<Double>(randomUniform: [4, 1, 4, 4], using: &rng)))
    let tensors = StateDictionary.tensors(of: model)
    #expect(
      tensors.keys.sorted() == [
        "0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var",
        "1.weight",
        "3.bias", "3.weight", "4.bias", "4.weight",
      ])
    #expect(tensors["0.weight"]?.shape == [2, 1, 3, 3] && tensors["4.weight"]?.shape == [3, 32])
    #expect(
      tensors["1.num_batches_tracked"] == Tensor(2.0) && tensors["1.running_mean"] == norm.runningMean.value)

    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("model.safetensors")
    try StateDictionary.save(model, to: path)
    let file = try SafeTensors(contentsOf: path)
    #expect(file.entry(named: "1.num_batches_tracked")?.dtype == "I64")
    #expect(file.integers(file.entry(named: "1.num_batches_tracked")!) == [2])
    #expect(
      try file.tensor(named: "4.weight", as: Double.self) == model.layers[4].parameters[0].value.transposed())

    // Loaded into a fresh model, everything comes back.
    var other = SeededRandomNumberGenerator(seed: 3)
    let fresh = Sequential {
      Conv2D<Double>(inputChannelCount: 1, outputChannelCount: 2, kernelSize: 3, padding: 1, using: &other)
      BatchNorm<Double>(featureCount: 2)
      Flatten<Double>()
      LayerNorm<Double>(featureCount: 32)
      Dense<Double>(inputSize: 32, outputSize: 3, using: &other)
    }
    try StateDictionary.load(from: path, into: fresh)
    #expect(StateDictionary.tensors(of: fresh) == tensors)
  }

  @Test("Loading is strict and all-or-nothing: a missing, extra or misshapen key changes nothing")
  func strictLoad() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let model = Self.mlp()
    let path = scratch.file("mlp.safetensors")
    let good = StateDictionary.tensors(of: model, keys: .renumbered([0, 2]))
    func attempt(_ tensors: [String: Tensor<Float>]) -> FileError? {
      #expect(throws: Never.self) { try SafeTensors.write(tensors, to: path) }
      let target = Self.mlp()
      target.parameters[0].value = Tensor(zeros: [64, 128])
      let before = StateDictionary.tensors(of: target)
      do {
        try StateDictionary.load(from: path, into: target, keys: .renumbered([0, 2]))
        return nil
      } catch {
        #expect(StateDictionary.tensors(of: target) == before)
        return error
      }
    }
    #expect(attempt(good) == nil)
    var missing = good
    missing["2.bias"] = nil
    #expect(attempt(missing) == FileError(path: path, place: .model("2.bias"), .missingTensor))
    var extra = good
    extra["1.weight"] = Tensor(zeros: [1])
    #expect(attempt(extra) == FileError(path: path, place: .model("1.weight"), .unexpectedTensor))
    var untransposed = good
    untransposed["0.weight"] = model.parameters[0].value
    #expect(
      attempt(untransposed)
        == FileError(
          path: path, place: .model("0.weight"), .shapeMismatch(expected: [128, 64], found: [64, 128])))
    // Without renumbering, the keys do not match PyTorch's.
    #expect(throws: FileError(path: path, place: .model("1.weight"), .missingTensor)) {
      try SafeTensors.write(good, to: path)
      try StateDictionary.load(from: path, into: Self.mlp())
    }
  }
}
