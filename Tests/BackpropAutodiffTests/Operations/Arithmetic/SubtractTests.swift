import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Subtract")
struct SubtractTests {
  @Test("x − y")
  func workedValues() {
    let x = Variable(Tensor<Double>([5, 7]), requiresGrad: true)
    let y = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let z = x - y
    #expect(z.value == Tensor([4, 5]))
    z.sum().backward()
    #expect(x.grad == Tensor([1, 1]) && y.grad == Tensor([-1, -1]))
  }
}
