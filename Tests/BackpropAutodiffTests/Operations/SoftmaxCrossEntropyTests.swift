import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("SoftmaxCrossEntropy")
struct SoftmaxCrossEntropyTests {
  @Test("−log softmax(logits)[label]; gradient softmax − labels")
  func workedValues() {
    let logits = Variable(try! Tensor<Double>(rows: [[0, Double.log(3)]]), requiresGrad: true)
    let loss = softmaxCrossEntropy(logits: logits, labels: Tensor<Double>([[0, 1]]))
    #expect(isClose(loss.value.scalar, -Double.log(0.75)))
    loss.backward()
    #expect(isClose(logits.grad!, Tensor<Double>([[0.25, -0.25]])))
  }
}
