import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Sum")
struct SumTests {
  @Test("sum(alongAxes:) keeps the axis; the gradient is broadcast back")
  func workedValues() {
    let x = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    let s = x.sum(alongAxes: [0])
    #expect(s.value == Tensor([[4, 6]]))
    s.backward(seed: Tensor([[1, 10]]))
    #expect(x.grad == Tensor([[1, 10], [1, 10]]))
    x.zeroGrad()
    x.sum().backward()
    #expect(x.grad == Tensor([[1, 1], [1, 1]]))
    #expect(x.sum(squeezingAxes: [1]).value == Tensor([3, 7]))
  }
}
