import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Losses: shapes")
struct LossShapeTests {
  @Test("A target of another shape stops with both shapes, instead of broadcasting to a wrong loss")
  func mismatchedShapesStop() async {
    let meanSquared = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let predicted = Variable(Tensor<Double>([[4], [1], [2], [3]]), requiresGrad: true)
      _ = meanSquaredError(predicted: predicted, target: Tensor<Double>([4, 1, 2, 3]))
    }
    let message = String(decoding: meanSquared?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      message.contains(
        "meanSquaredError(predicted:target:): the prediction's shape [4, 1] ≠ the target's shape [4]"))

    let squared = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let predicted = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
      _ = squaredError(predicted: predicted, target: Variable(Tensor<Double>([[1, 2]])))
    }
    let text1 = String(decoding: squared?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      text1.contains(
        "squaredError(predicted:target:): the prediction's shape [2] ≠ the target's shape [1, 2]"))

    let binary = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let logits = Variable(Tensor<Double>([[0.5], [-1]]), requiresGrad: true)
      _ = sigmoidCrossEntropy(logits: logits, target: Tensor<Double>([1, 0]))
    }
    let text2 = String(decoding: binary?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      text2.contains(
        "sigmoidCrossEntropy(logits:target:): the prediction's shape [2, 1] ≠ the target's shape [2]"))
  }

  @Test("Equal shapes give the loss of the elements that correspond, as before")
  func equalShapes() {
    let predicted = Variable(Tensor<Double>([[4], [1]]), requiresGrad: true)
    #expect(meanSquaredError(predicted: predicted, target: Tensor([[4], [1]])).value == Tensor(0.0))
    #expect(squaredError(predicted: predicted, target: Tensor([[2], [1]])).value == Tensor(2.0))
  }

  @Test("Class indices take logits [N, T, C] and [C] as well as [N, C], like the ignoreIndex form")
  func sequenceLogits() {
    var rng = SeededRandomNumberGenerator(seed: 5)
    let logits = Variable(Tensor<Double>(randomNormal: [2, 3, 4], using: &rng), requiresGrad: true)
    let targets = [0, 3, 1, 2, 2, 0]
    let plain = softmaxCrossEntropy(logits: logits, target: targets)
    let ignoring = softmaxCrossEntropy(logits: logits, target: targets, ignoreIndex: -100)
    #expect(isClose(plain.value, ignoring.value, absoluteTolerance: 1e-14))
    let both = gradients(of: plain, withRespectTo: [logits])[0].value
    #expect(
      isClose(both, gradients(of: ignoring, withRespectTo: [logits])[0].value, absoluteTolerance: 1e-14))

    let one = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
    let single = softmaxCrossEntropy(logits: one, target: [2])
    #expect(isClose(single.value, Tensor(-3 + log(exp(1.0) + exp(2.0) + exp(3.0)))))
  }
}
