import Backprop
import BackpropTestSupport
import Foundation
import Testing

@testable import BackpropAutodiff

/// A user-defined layer: multiplies by a learned scalar.
final class Scale: Layer {
  let factor = Variable(Tensor<Double>(2.0), requiresGrad: true, name: "factor")
  func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * factor }
  var parameters: [Variable<Double>] { [factor] }
}

@Suite("Layers")
struct LayerTests {
  @Test("The documented API compiles")
  func contract() {
    let model = Sequential {
      Dense<Float>(inputSize: 784, outputSize: 256, activation: .relu)
      Dense<Float>(inputSize: 256, outputSize: 10)  // activation defaults to .identity
    }
    let w: Tensor<Double> = [[0.1, 0.2], [0.3, 0.4]]
    let b: Tensor<Double> = [0.5, 0.5]
    let hidden = Dense<Double>(weight: w, bias: b, activation: .sigmoid)
    #expect(hidden.weight.shape == [2, 2] && hidden.bias.shape == [2])
    let x = Variable(Tensor<Float>(zeros: [3, 784]))
    let out = model(x)
    #expect(out.shape == [3, 10])
    #expect(model.parameters.map(\.shape) == [[784, 256], [256], [256, 10], [10]])
    let loss = out.mean()
    let sgd = SGD(parameters: model.parameters, learningRate: 0.1)
    let momentum = Momentum(parameters: model.parameters, learningRate: 0.05, momentum: 0.9)
    let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
    sgd.zeroGrad()
    loss.backward()
    sgd.step()
    momentum.step()
    adam.step()
  }

  @Test("Dense computes activation(x·W + b) as by hand")
  func denseByHand() {
    // tinhatben's hidden layer: inputs (1, 0), w1..w4 = 0.1..0.4, biases 0.5
    let layer = Dense<Double>(weight: [[0.1, 0.2], [0.3, 0.4]], bias: [0.5, 0.5], activation: .sigmoid)
    let y = layer(Variable(Tensor<Double>([[1, 0]])))
    let expected = [1 / (1 + Foundation.exp(-0.6)), 1 / (1 + Foundation.exp(-0.7))]
    #expect(isClose(y.value, try! Tensor(rows: [expected])))
    let linear = Dense<Double>(weight: [[1, 2], [3, 4]], bias: [10, 20])
    #expect(linear(Variable(Tensor<Double>([[1, 1]]))).value == Tensor([[14, 26]]))
  }

  @Test("Dense gradients are the hand rules: ∂W = xᵀG, ∂b = Σ G, ∂x = G·Wᵀ")
  func denseGradients() {
    let layer = Dense<Double>(weight: [[1, 2], [3, 4]], bias: [0, 0])
    let x = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    layer(x).backward(seed: Tensor([[1, 0], [0, 1]]))
    #expect(layer.weight.grad == Tensor([[1, 3], [2, 4]]))
    #expect(layer.bias.grad == Tensor([1, 1]))
    #expect(x.grad == Tensor([[1, 3], [2, 4]]))
  }

  @Test(
    "An unnamed Dense with ReLU records one node, shown as matmul, + and relu, with the bits of the three")
  func reluIsRecordedWithTheProduct() {
    var rng = SeededRandomNumberGenerator(seed: 6)
    let layer = Dense<Float>(inputSize: 5, outputSize: 4, activation: .relu, using: &rng)
    layer.bias.value = Tensor(randomUniform: [4], lowerBound: -0.5, upperBound: 0.5, using: &rng)
    let x = Variable(
      Tensor<Float>(randomUniform: [6, 5], lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true)
    let g = Tensor<Float>(randomUniform: [6, 4], lowerBound: -1, upperBound: 1, using: &rng)
    let y = layer(x)
    (y * g).sum().backward()
    let gradients = (layer.parameters + [x]).map(\.grad)
    (layer.parameters + [x]).forEach { $0.zeroGrad() }
    let separate = relu(matmul(x, layer.weight) + layer.bias)
    (separate * g).sum().backward()
    #expect(y.value == separate.value)
    #expect(gradients == (layer.parameters + [x]).map(\.grad))
    #expect(y.operation?.name == "matmul → + → relu")
    let picture = y.graphviz()
    #expect(picture.contains("matmul") && picture.contains("relu") && !picture.contains("→ relu"))
    // A named layer records the three operations, so that its pre-activation keeps its name.
    let named = Dense<Float>(inputSize: 5, outputSize: 4, activation: .relu, name: "hidden", using: &rng)
    let a = named(x)
    #expect(a.operation?.name == "relu" && a.name == "hidden.a" && a.inputs[0].name == "hidden.z")
    // Any other activation is recorded after the product and the bias, which are one node.
    let tanhLayer = Dense<Float>(inputSize: 5, outputSize: 4, activation: .tanh, using: &rng)
    let t = tanhLayer(x)
    #expect(t.operation?.name == "tanh" && t.inputs[0].operation?.name == "matmul → +")
    #expect(t.value == tanh(matmul(x, tanhLayer.weight) + tanhLayer.bias).value)
  }

  @Test("Sequential composes in order, with custom layers, nesting, if and for")
  func sequentialComposition() {
    let useExtra = true
    let first = Dense<Double>(weight: [[1, 0], [0, 1]], bias: [1, 1])
    let custom = Scale()
    let model = Sequential {
      first
      custom
      Sequential {
        Dense<Double>(weight: [[1], [1]], bias: [0])
      }
      if useExtra {
        Scale()
      } else {
        Dense<Double>(weight: [[1]], bias: [0])
      }
      for _ in 0..<2 {
        Dense<Double>(weight: [[1]], bias: [1])
      }
    }
    #expect(model.layers.count == 6)
    #expect(model.parameters.count == 2 + 1 + 2 + 1 + 4)
    #expect(model.parameters[0] === first.weight && model.parameters[2] === custom.factor)
    // ((x + 1)·2 summed)·2 + 1 + 1 for x = (1, 2): ((2 + 3)·2)·2 + 2 = 22
    #expect(model(Variable(Tensor<Double>([[1, 2]]))).value == Tensor([[22]]))
  }

  @Test("Custom activations differentiate through the tape")
  func customActivation() {
    let square = Activation<Double>(name: "square") { $0 * $0 }
    let layer = Dense<Double>(weight: [[2]], bias: [0], activation: square)
    let x = Variable(Tensor<Double>([[3]]), requiresGrad: true)
    let y = layer(x)  // (2x)² = 36, dy/dx = 8x = 24
    y.sum().backward()
    #expect(y.value == Tensor([[36]]) && x.grad == Tensor([[24]]))
  }

  @Test("A wrong input to a layer names the layer, its sizes and the input's shape")
  func denseInputShape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var rng = SeededRandomNumberGenerator(seed: 1)
      let model = Sequential {
        Dense<Double>(inputSize: 3, outputSize: 4, activation: .relu, name: "hidden", using: &rng)
        Dense<Double>(inputSize: 4, outputSize: 1, using: &rng)
      }
      _ = model(Variable(Tensor<Double>(zeros: [5, 2])))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains(#"Dense "hidden" (3 → 4, relu): input of shape [5, 2]; expected [batch, 3]"#))
  }

  @Test("Dense draws He-normal weights for ReLU and Glorot-uniform ones otherwise, unless told")
  func initializerByActivation() {
    var a = SeededRandomNumberGenerator(seed: 3)
    var b = SeededRandomNumberGenerator(seed: 3)
    let relu = Dense<Double>(inputSize: 8, outputSize: 8, activation: .relu, using: &a)
    let he: Tensor<Double> = Initializer.heNormal.weights(fanIn: 8, fanOut: 8, using: &b)
    #expect(relu.weight.value == he)
    let tanh = Dense<Double>(inputSize: 8, outputSize: 8, activation: .tanh, using: &a)
    let glorot: Tensor<Double> = Initializer.glorotUniform.weights(fanIn: 8, fanOut: 8, using: &b)
    #expect(tanh.weight.value == glorot)
    let zero = Dense<Double>(
      inputSize: 2, outputSize: 2, activation: .relu, weightInitializer: .zeros, using: &a)
    #expect(zero.weight.value == Tensor(zeros: [2, 2]))
  }

  @Test("The new activations are Activation cases that Dense applies")
  func moreActivations() {
    let x = Variable(Tensor<Double>([[-1, 2]]))
    for (activation, expected) in [
      (Activation<Double>.leakyRelu(alpha: 0.1), [-0.1, 2.0]), (.elu(alpha: 1), [-0.6321205588285577, 2]),
      (.silu, [-0.2689414213699951, 1.7615941559557649]),
      (.gelu, [-0.15865525393145707, 1.9544997361036416]),
      (.sin, [-0.8414709848078965, 0.9092974268256817]),
    ] {
      let layer = Dense<Double>(weight: [[1, 0], [0, 1]], bias: [0, 0], activation: activation)
      #expect(
        isClose(layer(x).value, try! Tensor(shape: [1, 2], scalars: expected), absoluteTolerance: 1e-12),
        "\(activation.name)")
    }
    #expect(Activation<Double>.leakyRelu().weightInitializer == .heNormal)
  }
}

@Suite("Model conveniences")
struct ModelConvenienceTests {
  @Test("parameterCount, model[i], count and a description that lists layers, tensors and counts")
  func sequential() {
    var rng = SeededRandomNumberGenerator(seed: 1)
    let model = Sequential {
      Dense<Float>(inputSize: 2, outputSize: 3, activation: .tanh, using: &rng)
      Sequential {
        Dense<Float>(inputSize: 3, outputSize: 1, activation: .sigmoid, using: &rng)
      }
      Flatten<Float>()
    }
    #expect(model.parameterCount == 2 * 3 + 3 + 3 * 1 + 1)
    #expect(model.count == 3)
    #expect((model[0] as? Dense<Float>)?.outputSize == 3)
    #expect(
      model.description == """
        Sequential<Float>: 3 layers, 13 parameters
          (0) Dense (2 → 3, tanh): weight [2, 3], bias [3]: 9 parameters
          (1) Sequential<Float>: 1 layer, 4 parameters
              (0) Dense (3 → 1, sigmoid): weight [3, 1], bias [1]: 4 parameters
          (2) Flatten
        """)
  }

  @Test("A variable's one scalar, and flattening a variable records a reshape")
  func variables() {
    let x = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    let loss = (x.flattened() * Tensor([1, 2, 3, 4])).sum()
    #expect(loss.scalar == 30)
    loss.backward()
    #expect(x.grad == Tensor([[1, 2], [3, 4]]))
  }
}

@Suite("One naming scheme")
struct NamingSchemeTests {
  /// One of every built-in layer that has tensors.
  static func layers() -> [any Layer<Double>] {
    var rng = SeededRandomNumberGenerator(seed: 4)
    return [
      Dense<Double>(inputSize: 3, outputSize: 2, using: &rng),
      Conv2D<Double>(inputChannelCount: 2, outputChannelCount: 3, kernelSize: 3, using: &rng),
      LayerNorm<Double>(featureCount: 4), BatchNorm<Double>(featureCount: 4),
      Embedding<Double>(vocabularySize: 5, embeddingSize: 4, using: &rng),
      PositionalEmbedding<Double>(maximumLength: 6, embeddingSize: 4, using: &rng),
      LSTM<Double>(inputSize: 4, hiddenSize: 3, using: &rng),
      GRU<Double>(inputSize: 3, hiddenSize: 2, using: &rng),
      MultiHeadAttention<Double>(modelSize: 4, headCount: 2, using: &rng),
      TransformerBlock<Double>(modelSize: 4, headCount: 2, feedForwardSize: 8, using: &rng),
    ]
  }

  @Test("Every layer lists each parameter once, in the order of parameters, under a unique PyTorch name")
  func namedTensorsCoverTheParameters() {
    for layer in Self.layers() {
      let tensors = layer.namedTensors
      let label = String(describing: type(of: layer))
      #expect(Set(tensors.map(\.name)).count == tensors.count, "\(label): a name repeats")
      #expect(
        layer.namedParameters.map { ObjectIdentifier($0.variable) }
          == layer.parameters.map(ObjectIdentifier.init),
        "\(label): namedTensors' parameters differ from parameters")
      #expect(
        tensors.allSatisfy { ($0.role == .parameter) == $0.variable.requiresGrad },
        "\(label): a role is wrong")
      #expect(
        tensors.allSatisfy { $0.name.allSatisfy { $0.isLowercase || $0.isNumber || "._".contains($0) } },
        "\(label): \(tensors.map(\.name)) are not PyTorch-style names")
    }
  }
}
