import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Tanh")
struct TanhTests {
  @Test("tanh′ = 1 − tanh²")
  func workedValues() {
    let x = Variable(Tensor<Double>([0, 1]), requiresGrad: true)
    let t = tanh(x)
    let t1 = 0.7615941559557649
    #expect(isClose(t.value, Tensor([0, t1])))
    t.sum().backward()
    #expect(isClose(x.grad!, Tensor([1, 1 - t1 * t1])))
  }
}
