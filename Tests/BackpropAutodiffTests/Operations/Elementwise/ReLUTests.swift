import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("ReLU")
struct ReLUTests {
  @Test("relu: gradient 1 above zero, 0 below and at zero")
  func workedValues() {
    let x = Variable(Tensor<Double>([-1, 0, 2]), requiresGrad: true)
    let y = relu(x)
    #expect(y.value == Tensor([0, 0, 2]))
    y.sum().backward()
    #expect(x.grad == Tensor([0, 0, 1]))
  }
}
