import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Multiply")
struct MultiplyTests {
  @Test("x ⊙ y: each operand's gradient is the other operand")
  func workedValues() {
    let x = Variable(Tensor<Double>([2, 3]), requiresGrad: true)
    let y = Variable(Tensor<Double>([4, 5]), requiresGrad: true)
    let z = x * y
    #expect(z.value == Tensor([8, 15]))
    z.sum().backward()
    #expect(x.grad == Tensor([4, 5]) && y.grad == Tensor([2, 3]))
  }
}
