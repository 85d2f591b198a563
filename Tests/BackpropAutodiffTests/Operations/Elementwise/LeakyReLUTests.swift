import Backprop
import BackpropTestSupport
import Testing

@Suite("LeakyReLU")
struct LeakyReLUTests {
  @Test("leakyRelu: slope 1 above zero, α below and at zero (PyTorch)")
  func workedValues() {
    let x = Variable(Tensor<Double>([-2, 0, 3]), requiresGrad: true)
    let y = leakyRelu(x, alpha: 0.1)
    #expect(isClose(y.value, Tensor([-0.2, 0, 3])))
    y.sum().backward()
    #expect(isClose(x.grad!, Tensor([0.1, 0.1, 1])))
  }
}
