import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("SoftmaxCrossEntropy")
struct SoftmaxCrossEntropyTests {
  @Test("−log softmax(logits)[label]; gradient softmax − labels")
  func workedValues() {
    let logits = Variable(try! Tensor<Double>(rows: [[0, Foundation.log(3)]]), requiresGrad: true)
    let loss = softmaxCrossEntropy(logits: logits, target: Tensor<Double>([[0, 1]]))
    #expect(isClose(loss.value.scalar, -Foundation.log(0.75)))
    loss.backward()
    #expect(isClose(logits.grad!, Tensor<Double>([[0.25, -0.25]])))
  }

  @Test("Integer class labels: the mean over rows of −log softmax at each row's class")
  func classIndices() {
    let log3 = Foundation.log(3.0)
    let logits = Variable(
      try! Tensor<Double>(shape: [2, 2], scalars: [0, log3, log3, 0]), requiresGrad: true)
    let loss = softmaxCrossEntropy(logits: logits, target: [1, 1])
    #expect(isClose(loss.value.scalar, -(Foundation.log(0.75) + Foundation.log(0.25)) / 2))
    loss.backward()
    #expect(isClose(logits.grad!, Tensor<Double>([[0.125, -0.125], [0.375, -0.375]])))
  }

  @Test("A class index outside 0..<C stops, naming it")
  func classIndexOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = softmaxCrossEntropy(logits: Variable(Tensor<Double>(zeros: [2, 3])), target: [0, 3])
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("class index 3 of position 1 is outside 0..<3"))
  }
}
