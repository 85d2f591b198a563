import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Negate")
struct NegateTests {
  @Test("−x")
  func workedValues() {
    let x = Variable(Tensor<Double>([1, -2]), requiresGrad: true)
    let z = -x
    #expect(z.value == Tensor([-1, 2]))
    z.sum().backward()
    #expect(x.grad == Tensor([-1, -1]))
  }
}
