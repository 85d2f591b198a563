import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("AbsoluteValue")
struct AbsoluteValueTests {
  @Test("abs′ = sign")
  func workedValues() {
    let x = Variable(Tensor<Double>([-3, 2]), requiresGrad: true)
    let y = abs(x)
    #expect(y.value == Tensor([3, 2]))
    y.sum().backward()
    #expect(x.grad == Tensor([-1, 1]))
  }
}
