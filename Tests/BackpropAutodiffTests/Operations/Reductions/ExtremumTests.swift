import Backprop
import BackpropTestSupport
import Testing

@Suite("Max and min")
struct ExtremumTests {
  @Test("max and min keep reduced axes; the gradient goes to the extreme, ties share it equally")
  func workedValues() {
    let x = Variable(Tensor<Double>([[1, 5, 5], [7, 0, 2]]), requiresGrad: true)
    let rowMax = x.max(alongAxes: [1])
    #expect(rowMax.value == Tensor([[5], [7]]))
    rowMax.sum().backward()
    #expect(x.grad == Tensor([[0, 0.5, 0.5], [1, 0, 0]]))
    x.zeroGrad()
    x.min().backward()
    #expect(x.value.min() == Tensor(0.0) && x.grad == Tensor([[0, 0, 0], [0, 1, 0]]))
    x.zeroGrad()
    x.min(alongAxes: [0]).sum().backward()
    #expect(x.grad == Tensor([[1, 0, 0], [0, 1, 1]]))
  }
}
