import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("MeanSquaredError")
struct MeanSquaredErrorTests {
  @Test("mean((p − e)²) with p = [1, 3], e = 0: value 5, gradient 2p/n")
  func workedValues() {
    let p = Variable(Tensor<Double>([1, 3]), requiresGrad: true)
    let loss = meanSquaredError(predicted: p, target: Tensor(zeros: [2]))
    #expect(loss.value == Tensor(5.0))
    loss.backward()
    #expect(p.grad == Tensor([1, 3]))
  }
}
