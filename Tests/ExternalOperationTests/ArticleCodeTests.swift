// The code of the DocC articles "Layers" and "Training loops", as written there (between the
// snippet markers; README snippet tests compare them with the articles).
import Backprop
import Foundation
import Testing

/// A scratch directory: the articles' file names, under a temporary directory.
struct ArticleScratch {
  let path = NSTemporaryDirectory() + "backprop-articles-\(UInt64.random(in: .min ... .max))"
  init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
  func file(_ name: String) -> String { path + "/" + name }
  func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

// snippet: layers-custom
final class Scale: Layer {
  let factor = Variable(Tensor<Double>(2.0), requiresGrad: true, name: "factor")
  func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * factor }
  var parameters: [Variable<Double>] { [factor] }
}
// end snippet

@Suite("The Layers and Training loops articles")
struct ArticleCodeTests {
  @Test("Layers: the tour, the sequence layers and a custom layer")
  func layers() {
    // snippet: layers-tour
    var rng = SeededRandomNumberGenerator(seed: 1)
    let classifier = Sequential {
      Conv2D<Float>(
        inputChannelCount: 1, outputChannelCount: 8, kernelSize: 3, padding: 1, activation: .relu, using: &rng
      )
      MaxPool2D<Float>(kernelSize: 2)
      Flatten<Float>()
      Dense<Float>(inputSize: 8 * 4 * 4, outputSize: 10, using: &rng)
    }
    let logits = classifier(Variable(Tensor<Float>(zeros: [32, 1, 8, 8])))  // [32, 10]
    print(classifier)  // its layers, their tensors and 1370 parameters
    // end snippet
    #expect(logits.shape == [32, 10])
    #expect(classifier.description.hasPrefix("Sequential<Float>: 4 layers, 1370 parameters"))

    // snippet: layers-sequence
    let tokens = Embedding<Float>(vocabularySize: 12, embeddingSize: 16, using: &rng)
    let lstm = LSTM<Float>(inputSize: 16, hiddenSize: 32, using: &rng)
    let block = TransformerBlock<Float>(
      modelSize: 16, headCount: 4, feedForwardSize: 64, causal: true, using: &rng)
    let embedded = tokens([[1, 2, 3], [4, 5, 6]])  // [2, 3, 16]
    let states = lstm(embedded)  // [2, 3, 32]
    let attended = block(embedded)  // [2, 3, 16]
    // end snippet
    #expect(embedded.shape == [2, 3, 16] && states.shape == [2, 3, 32] && attended.shape == [2, 3, 16])
    #expect(Scale().namedParameters.map(\.name) == ["factor"])
  }

  @Test("Training loops: minibatches, a schedule, clipping, inference mode and a resumed checkpoint")
  func trainingLoops() throws {
    let scratch = ArticleScratch()
    defer { scratch.cleanUp() }
    var data = SeededRandomNumberGenerator(seed: 3)
    let images = Tensor<Float>(randomUniform: [100, 64], using: &data)
    let labels = (0..<100).map { _ in Int.random(in: 0..<10, using: &data) }
    // snippet: training-loop
    var rng = SeededRandomNumberGenerator(seed: 7)
    let model = Sequential {
      Dense<Float>(inputSize: 64, outputSize: 32, activation: .relu, using: &rng)
      Dropout<Float>(probability: 0.1, using: &rng)
      Dense<Float>(inputSize: 32, outputSize: 10, using: &rng)
    }
    let adam = AdamW(parameters: model.parameters, learningRate: 1e-3)
    adam.schedule = .linearWarmup(steps: 10).then(after: 10, .cosine(steps: 90))
    for epoch in 0..<3 {
      for batch in Minibatches(inputs: images, labels: labels, batchSize: 32, shuffledUsing: &rng) {
        adam.zeroGrad()
        let loss = softmaxCrossEntropy(logits: model(Variable(batch.inputs)), target: batch.labels)
        loss.backward()
        clipGradients(of: model.parameters, maxNorm: 1)
        adam.step()
      }
      let logits = withLearningPhase(.inference) { withoutGradients { model(Variable(images)) } }.value
      print("epoch \(epoch): accuracy \(accuracy(logits: logits, labels: labels))")
    }
    try Checkpoint.save(model, optimizer: adam, to: scratch.file("digits.safetensors"))
    // end snippet
    #expect(adam.stepCount == 12)

    // snippet: training-resume
    let resumed = Sequential {
      Dense<Float>(inputSize: 64, outputSize: 32, activation: .relu)
      Dropout<Float>(probability: 0.1)
      Dense<Float>(inputSize: 32, outputSize: 10)
    }
    let resumedAdam = AdamW(parameters: resumed.parameters, learningRate: 1e-3)
    try Checkpoint.load(from: scratch.file("digits.safetensors"), into: resumed, optimizer: resumedAdam)
    // end snippet
    #expect(resumedAdam.stepCount == 12)
    #expect(zip(resumed.parameters, model.parameters).allSatisfy { $0.value == $1.value })
  }
}
