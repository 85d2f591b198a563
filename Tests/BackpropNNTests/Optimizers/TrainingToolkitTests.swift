import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Schedules, weight decay and clipping")
struct TrainingToolkitTests {
  @Test("Step, cosine and warm-up schedules give PyTorch's factors; then(after:) chains them")
  func schedules() {
    let step = LearningRateSchedule.step(every: 2, factor: 0.5)
    #expect((0..<6).map { step.factor(atStep: $0) } == [1, 1, 0.5, 0.5, 0.25, 0.25])
    let cosine = LearningRateSchedule.cosine(steps: 4, minimum: 0.1)
    #expect(isClose(cosine.factor(atStep: 0), 1) && isClose(cosine.factor(atStep: 2), 0.55))
    #expect(isClose(cosine.factor(atStep: 4), 0.1) && isClose(cosine.factor(atStep: 9), 0.1))
    let warm = LearningRateSchedule.linearWarmup(steps: 4).then(after: 4, .cosine(steps: 2))
    #expect(
      (0..<7).map { warm.factor(atStep: $0) }.map { ($0 * 100).rounded() / 100 } == [
        0.25, 0.5, 0.75, 1, 1, 0.5, 0,
      ])
  }

  @Test("An optimiser follows its schedule step by step")
  func optimizerFollowsSchedule() {
    let w = Variable(Tensor<Double>([0]), requiresGrad: true)
    let sgd = SGD(parameters: [w], learningRate: 1)
    sgd.schedule = .step(every: 1, factor: 0.5)
    for _ in 0..<3 {
      w.grad = Tensor([-1])
      sgd.step()
    }
    #expect(w.value == Tensor([1.75]) && sgd.stepCount == 3)  // 1 + 0.5 + 0.25
  }

  @Test("Weight decay: SGD and Momentum add λW to the gradient; AdamW shrinks W by 1 − αλ first")
  func weightDecay() {
    let w = Variable(Tensor<Double>([2]), requiresGrad: true)
    w.grad = Tensor([0.5])
    SGD(parameters: [w], learningRate: 0.1, weightDecay: 0.01).step()
    #expect(isClose(w.value, Tensor([2 - 0.1 * (0.5 + 0.02)])))

    let m = Variable(Tensor<Double>([2]), requiresGrad: true)
    m.grad = Tensor([0.5])
    Momentum(parameters: [m], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01).step()
    #expect(isClose(m.value, Tensor([2 - 0.1 * (0.5 + 0.02)])))

    let a = Variable(Tensor<Double>([2]), requiresGrad: true)
    let b = Variable(Tensor<Double>([2 * (1 - 0.1 * 0.5)]), requiresGrad: true)
    a.grad = Tensor([0.5])
    b.grad = Tensor([0.5])
    AdamW(parameters: [a], learningRate: 0.1, weightDecay: 0.5).step()
    Adam(parameters: [b], learningRate: 0.1).step()
    #expect(isClose(a.value, b.value, relativeTolerance: 1e-15))
  }

  @Test("Clipping scales all gradients together to the global norm, and reports the norm before")
  func clipping() {
    let a = Variable(Tensor<Double>([0, 0]), requiresGrad: true)
    let b = Variable(Tensor<Double>([0]), requiresGrad: true)
    (a.grad, b.grad) = (Tensor([3, 0]), Tensor([4]))
    let norm = clipGradients(of: [a, b], maxNorm: 1)
    #expect(norm == 5 && isClose(a.grad!, Tensor([0.6, 0])) && isClose(b.grad!, Tensor([0.8])))
    #expect(clipGradients(of: [a, b], maxNorm: 10) == 1 && isClose(b.grad!, Tensor([0.8])))
  }

  @Test("AdamW with a schedule resumes bit-exactly from a checkpoint")
  func resume() throws {
    let directory = NSTemporaryDirectory() + "backprop-resume-\(UInt64.random(in: .min ... .max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    func make() -> (Sequential<Double>, AdamW<Double>) {
      var rng = SeededRandomNumberGenerator(seed: 5)
      let model = Sequential {
        Dense<Double>(inputSize: 2, outputSize: 3, activation: .relu, using: &rng)
        Dense<Double>(inputSize: 3, outputSize: 1, using: &rng)
      }
      let optimizer = AdamW(parameters: model.parameters, learningRate: 0.05, weightDecay: 0.1)
      optimizer.schedule = .linearWarmup(steps: 5).then(after: 5, .cosine(steps: 20))
      return (model, optimizer)
    }
    let x = Variable(Tensor<Double>([[0, 1], [1, 0], [1, 1]]))
    let y = Tensor<Double>([[1], [1], [0]])
    func train(_ model: Sequential<Double>, _ optimizer: AdamW<Double>, steps: Int) {
      for _ in 0..<steps {
        optimizer.zeroGrad()
        meanSquaredError(predicted: model(x), target: y).backward()
        optimizer.step()
      }
    }
    let (straight, straightOptimizer) = make()
    train(straight, straightOptimizer, steps: 20)
    let (first, firstOptimizer) = make()
    train(first, firstOptimizer, steps: 10)
    try Checkpoint.save(first, optimizer: firstOptimizer, to: directory + "/run.ckpt")
    let (resumed, resumedOptimizer) = make()
    try Checkpoint.load(from: directory + "/run.ckpt", into: resumed, optimizer: resumedOptimizer)
    train(resumed, resumedOptimizer, steps: 10)
    #expect(resumed.parameters.map(\.value) == straight.parameters.map(\.value))
  }
}
