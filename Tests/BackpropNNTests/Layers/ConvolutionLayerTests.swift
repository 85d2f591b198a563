import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropAutodiff

@Suite("Convolution layers")
struct ConvolutionLayerTests {
  @Test("Conv2D: PyTorch's shapes, bias per channel, He-normal filters for ReLU with fan-in C·k²")
  func conv2D() {
    var rng = SeededRandomNumberGenerator(seed: 1)
    let layer = Conv2D<Double>(
      inputChannelCount: 8, outputChannelCount: 64, kernelSize: 3, padding: 1, activation: .relu, using: &rng)
    #expect(layer.weight.shape == [64, 8, 3, 3] && layer.bias.shape == [64])
    let w = layer.weight.value.scalars
    let variance = w.map { $0 * $0 }.reduce(0, +) / Double(w.count)
    #expect(abs(variance - 2.0 / 72) < 0.004)
    let y = layer(Variable(Tensor<Double>(ones: [2, 8, 5, 4])))
    #expect(y.shape == [2, 64, 5, 4])
  }

  @Test("Conv2D with ReLU records one node, shown as conv2d and relu, with the bits of the two operations")
  func reluIsRecordedWithTheConvolution() {
    var rng = SeededRandomNumberGenerator(seed: 2)
    let layer = Conv2D<Float>(
      inputChannelCount: 3, outputChannelCount: 5, kernelSize: 3, padding: 1, activation: .relu, using: &rng)
    let x = Variable(Tensor<Float>(randomUniform: [4, 3, 7, 6], lowerBound: -1, upperBound: 1, using: &rng))
    let g = Tensor<Float>(randomUniform: [4, 5, 7, 6], lowerBound: -1, upperBound: 1, using: &rng)
    let y = layer(x)
    (y * g).sum().backward()
    let gradients = layer.parameters.map(\.grad)
    layer.parameters.forEach { $0.zeroGrad() }
    let separate = relu(conv2d(x, layer.weight, bias: layer.bias, padding: 1))
    (separate * g).sum().backward()
    #expect(y.value == separate.value)
    #expect(gradients == layer.parameters.map(\.grad))
    #expect(y.operation?.name == "conv2d → relu")
    #expect(y.graphviz().contains("relu"))
    // Any other activation is recorded after the convolution as before.
    let tanhLayer = Conv2D<Float>(
      inputChannelCount: 3, outputChannelCount: 5, kernelSize: 3, activation: .tanh, using: &rng)
    #expect(tanhLayer(x).operation?.name == "tanh")
  }

  @Test("A convolutional network in Sequential: pooling, flattening and a dense head learn")
  func smallNetworkLearns() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let model = Sequential {
      Conv2D<Double>(
        inputChannelCount: 1, outputChannelCount: 4, kernelSize: 3, padding: 1, activation: .relu, using: &rng
      )
      MaxPool2D<Double>(kernelSize: 2)
      AvgPool2D<Double>(kernelSize: 1)
      Flatten<Double>()
      Dense<Double>(inputSize: 64, outputSize: 2, using: &rng)
    }
    // Two classes: a bright top half, or a bright bottom half.
    let images = (0..<8).map { i -> [Double] in
      (0..<64).map { p in (p < 32) == (i % 2 == 0) ? 1 : 0 }
    }
    let x = Variable(try! Tensor<Double>(shape: [8, 1, 8, 8], scalars: images.flatMap { $0 }))
    let labels = (0..<8).map { $0 % 2 }
    let adam = Adam(parameters: model.parameters, learningRate: 0.05)
    var losses: [Double] = []
    for _ in 0..<30 {
      adam.zeroGrad()
      let loss = softmaxCrossEntropy(logits: model(x), target: labels)
      loss.backward()
      adam.step()
      losses.append(loss.value.scalar)
    }
    #expect(losses.last! < losses.first! / 10)
    let predicted = withoutGradients { model(x) }.value.argmax(alongAxis: 1)
    #expect(predicted == labels)
  }

  @Test("A wrong input to Conv2D names the layer and the shape")
  func wrongInput() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let layer = Conv2D<Double>(inputChannelCount: 3, outputChannelCount: 4, kernelSize: 3, name: "stem")
      _ = layer(Variable(Tensor<Double>(zeros: [1, 1, 8, 8])))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      message.contains(
        #"Conv2D "stem" (3 → 4, 3×3, stride 1, padding 0, identity): input of shape [1, 1, 8, 8]"#))
  }
}

@Suite("Dropout and the learning phase")
struct DropoutTests {
  @Test(
    "Training drops about p of the elements and scales the rest by 1/(1 − p); its gradient uses the same mask"
  )
  func training() {
    var rng = SeededRandomNumberGenerator(seed: 7)
    let dropout = Dropout<Double>(probability: 0.25, using: &rng)
    let x = Variable(Tensor<Double>(ones: [100, 100]), requiresGrad: true)
    let y = dropout(x)
    let kept = y.value.scalars.filter { $0 != 0 }
    #expect(abs(Double(10_000 - kept.count) / 10_000 - 0.25) < 0.02)
    #expect(kept.allSatisfy { abs($0 - 4.0 / 3) < 1e-12 })
    y.sum().backward()
    #expect(x.grad! == y.value)
  }

  @Test("Inference passes the input through; the phase is task-local and training by default")
  func inference() {
    let dropout = Dropout<Double>(probability: 0.5)
    let x = Variable(Tensor<Double>(ones: [4, 4]))
    #expect(LearningPhase.current == .training)
    let y = withLearningPhase(.inference) { dropout(x) }
    #expect(y === x)
    #expect(LearningPhase.current == .training)
  }
}

@Suite("Normalisation layers")
struct NormalizationTests {
  @Test("LayerNorm: each row has mean 0 and variance 1 before scale and offset; gradients check")
  func layerNorm() {
    let norm = LayerNorm<Double>(featureCount: 4)
    let x = Variable(Tensor<Double>([[1, 2, 3, 4], [2, 2, 2, 6]]))
    let y = norm(x).value
    for row in 0..<2 {
      let values = y[row].scalars
      #expect(abs(values.reduce(0, +)) < 1e-12)
      let variance: Double = values.map { $0 * $0 }.reduce(0, +) / 4
      #expect(abs(variance - 1) < 1e-4)
    }
    let report = checkGradients(at: [x.value, Tensor([0.5, 1, 1.5, 2])]) { v in
      (norm(v[0]) * v[1]).sum()
    }
    #expect(report.passed, "\(report)")
  }

  @Test("BatchNorm in training: batch statistics, and running ones updated as PyTorch does")
  func batchNormTraining() {
    let norm = BatchNorm<Double>(featureCount: 2, momentum: 0.1)
    let x = Variable(Tensor<Double>([[1, 10], [3, 20], [5, 30]]))
    let y = norm(x).value
    #expect(isClose(y.sum(alongAxes: [0]), Tensor([[0, 0]]), absoluteTolerance: 1e-12))
    // mean (3, 20); unbiased variance (4, 100)
    #expect(isClose(norm.runningMean.value, Tensor([0.3, 2.0])))
    #expect(isClose(norm.runningVariance.value, Tensor<Double>([1.3, 10.9])))
    #expect(norm.parameters.count == 2 && !norm.runningMean.requiresGrad)
  }

  @Test("BatchNorm in inference uses the running statistics; images normalise per channel")
  func batchNormInference() {
    let norm = BatchNorm<Double>(featureCount: 3)
    norm.runningMean.value = Tensor([1, 2, 3])
    norm.runningVariance.value = Tensor([4, 4, 4])
    let x = Variable(Tensor<Double>(ones: [2, 3, 2, 2]) * 5)
    let y = withLearningPhase(.inference) { norm(x) }.value
    #expect(isClose(y[0][1], Tensor(repeating: 3 / (4 + 1e-5).squareRoot(), shape: [2, 2])))
    var rng = SeededRandomNumberGenerator(seed: 2)
    let trained = norm(Variable(Tensor<Double>(randomUniform: [4, 3, 2, 2], using: &rng)))
    #expect(trained.shape == [4, 3, 2, 2])
  }
}
