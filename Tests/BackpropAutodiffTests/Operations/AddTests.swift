import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Add")
struct AddTests {
  @Test("x + y, with y broadcast")
  func workedValues() {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let y = Variable(3.0, requiresGrad: true)
    let z = x + y
    #expect(z.value == Tensor([4, 5]))
    z.sum().backward()
    #expect(x.grad == Tensor([1, 1]))
    #expect(y.grad == Tensor(2.0))  // summed over the broadcast axis
  }
}
