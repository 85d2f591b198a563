import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("SigmoidCrossEntropy")
struct SigmoidCrossEntropyTests {
  @Test("logit 0, label 1: value log 2, gradient σ(0) − 1")
  func workedValues() {
    let logits = Variable(Tensor<Double>([0, 0]), requiresGrad: true)
    let loss = sigmoidCrossEntropy(logits: logits, target: Tensor([1, 0]))
    #expect(isClose(loss.value.scalar, 0.6931471805599453))
    loss.backward()
    #expect(isClose(logits.grad!, Tensor([-0.25, 0.25])))  // (σ − z)/n with n = 2
  }
}
