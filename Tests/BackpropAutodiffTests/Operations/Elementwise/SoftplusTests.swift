import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Softplus")
struct SoftplusTests {
  @Test("softplus(0) = log 2, softplus′ = sigmoid")
  func workedValues() {
    let x = Variable(Tensor<Double>([0, 1000]), requiresGrad: true)
    let y = softplus(x)
    #expect(isClose(y.value, Tensor([0.6931471805599453, 1000])))
    y.sum().backward()
    #expect(x.grad == Tensor([0.5, 1]))
  }
}
