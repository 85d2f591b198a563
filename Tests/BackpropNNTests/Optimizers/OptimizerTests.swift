import Backprop
import BackpropTestSupport
import Testing

@Suite("Optimizers")
struct OptimizerTests {
  /// A parameter with a fixed gradient, as if a backward pass had just run.
  static func parameter(_ value: Double, grad: Double) -> Variable<Double> {
    let p = Variable(value, requiresGrad: true)
    p.grad = Tensor(grad)
    return p
  }

  @Test("SGD: W := W − α·g, two steps")
  func sgd() {
    let p = Self.parameter(1.0, grad: 0.5)
    let sgd = SGD(parameters: [p], learningRate: 0.1)
    sgd.step()
    #expect(isClose(p.value.scalar, 0.95))
    sgd.step()
    #expect(isClose(p.value.scalar, 0.90))
    sgd.zeroGrad()
    #expect(p.grad == nil)
    sgd.step()  // no gradient: unchanged
    #expect(isClose(p.value.scalar, 0.90))
  }

  @Test(
    "SGD with momentum, Nesterov's and weight decay: PyTorch's rule, three steps",
    arguments: [
      (false, 0.0, [0.95, 0.855, 0.7195]), (true, 0.0, [0.905, 0.7695, 0.59755]),
      (false, 0.1, [0.94, 0.8266, 0.666274]),
    ])
  func sgdMomentum(nesterov: Bool, decay: Double, expected: [Double]) {
    // b := g on the first step, then μb + g (g including λw); w −= α(g + μb) or α·b.
    let w = Variable(1.0, requiresGrad: true)
    let sgd = SGD(parameters: [w], learningRate: 0.1, momentum: 0.9, nesterov: nesterov, weightDecay: decay)
    var values: [Double] = []
    for _ in 0..<3 {
      w.grad = Tensor(0.5)
      sgd.step()
      values.append(w.value.scalar)
    }
    #expect(zip(values, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(values)")
  }

  @Test("SGD's momentum buffers are its state: restoring them resumes as if it never stopped")
  func sgdMomentumResumes() {
    func run(stopAfter: Int?) -> Double {
      let w = Variable(Tensor<Double>([1, -2]), requiresGrad: true)
      var sgd = SGD(parameters: [w], learningRate: 0.1, momentum: 0.9, nesterov: true)
      for step in 0..<4 {
        if step == stopAfter {
          let state = sgd.state
          sgd = SGD(parameters: [w], learningRate: 0.1, momentum: 0.9, nesterov: true)
          sgd.restore(state)
        }
        w.grad = w.value * 0.5 + 1
        sgd.step()
      }
      return w.value.sum().scalar
    }
    #expect(run(stopAfter: 2) == run(stopAfter: nil))
    #expect(run(stopAfter: 0) == run(stopAfter: nil))
  }

  @Test("Momentum: V := μV − α·g, W := W + V (Rohan & Lenny), two steps")
  func momentum() {
    let p = Self.parameter(1.0, grad: 0.5)
    let optimizer = Momentum(parameters: [p], learningRate: 0.1, momentum: 0.9)
    optimizer.step()  // V = −0.05, W = 0.95
    #expect(isClose(p.value.scalar, 0.95))
    optimizer.step()  // V = 0.9·(−0.05) − 0.05 = −0.095, W = 0.855
    #expect(isClose(optimizer.velocities[0].scalar, -0.095))
    #expect(isClose(p.value.scalar, 0.855))
  }

  @Test("Adam with bias correction, two steps")
  func adam() {
    let p = Self.parameter(1.0, grad: 0.5)
    let adam = Adam(parameters: [p], learningRate: 0.1)
    adam.step()
    // m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25; step = 0.1·0.5/(0.5 + 1e-8)
    #expect(isClose(p.value.scalar, 1 - 0.1 * 0.5 / (0.5 + 1e-8), absoluteTolerance: 1e-12))
    p.grad = Tensor(-1.0)
    adam.step()
    let m = 0.9 * 0.05 + 0.1 * -1.0
    let v = 0.999 * 0.00025 + 0.001 * 1.0
    let mHat = m / (1 - 0.81)
    let vHat = v / (1 - 0.999 * 0.999)
    let expected = 1 - 0.1 * 0.5 / (0.5 + 1e-8) - 0.1 * mHat / (vHat.squareRoot() + 1e-8)
    #expect(isClose(p.value.scalar, expected, absoluteTolerance: 1e-12))
    #expect(adam.stepCount == 2)
  }

  /// Trains a seeded 2-4-1 network on XOR and returns its final loss and weights.
  static func trainXOR(seed: UInt64, steps: Int) -> (loss: Double, weights: [[Double]]) {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let model = Sequential {
      Dense<Double>(inputSize: 2, outputSize: 4, activation: .tanh, using: &rng)
      Dense<Double>(inputSize: 4, outputSize: 1, activation: .sigmoid, using: &rng)
    }
    let x = Variable(Tensor<Double>([[0, 0], [0, 1], [1, 0], [1, 1]]))
    let y: Tensor<Double> = [[0], [1], [1], [0]]
    let optimizer = Adam(parameters: model.parameters, learningRate: 0.05)
    var loss = 0.0
    for _ in 0..<steps {
      optimizer.zeroGrad()
      let l = meanSquaredError(predicted: model(x), target: y)
      l.backward()
      optimizer.step()
      loss = l.value.scalar
    }
    return (loss, model.parameters.map(\.value.scalars))
  }

  @Test("A seeded 2-4-1 network learns XOR (loss < 0.01) in 1,000 steps, reproducibly")
  func xor() {
    let first = Self.trainXOR(seed: 11, steps: 1000)
    #expect(first.loss < 0.01)
    let second = Self.trainXOR(seed: 11, steps: 1000)
    #expect(first.weights == second.weights)
  }
}

@Suite("Optimizers: parameters that would never change")
struct OptimizerParameterCheckTests {
  @Test("A parameter without requiresGrad, or listed twice, stops with the optimiser and the parameter")
  func refused() async {
    let constant = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let w = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
      let b = Variable(Tensor<Double>([0]), name: "b")
      _ = SGD(parameters: [w, b], learningRate: 0.1)
    }
    let text1 = String(decoding: constant?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text1.contains("SGD: parameter 1 (\"b\") of shape [1] does not require a gradient"))

    let intermediate = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let w = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
      _ = AdamW(parameters: [w * 2])
    }
    let text2 = String(decoding: intermediate?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text2.contains("AdamW: parameter 0 of shape [2] does not require a gradient"))

    let twice = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let w = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
      _ = Momentum(parameters: [w, w], learningRate: 0.1, momentum: 0.9)
    }
    let text3 = String(decoding: twice?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text3.contains("Momentum: parameter 1 of shape [2] appears more than once"))
  }
}
