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

  @Test("c·x and x / c record one input, and the gradient is c (1/c)")
  func scalarFactors() {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let scaled = 3.0 * x
    let halved = x / 2
    #expect(scaled.inputs.count == 1 && halved.inputs.count == 1)
    #expect(scaled.value == Tensor([3, 6]))
    #expect(halved.value == Tensor([0.5, 1]))
    (scaled * 0.5 + halved).sum().backward()
    #expect(x.grad == Tensor([2, 2]))  // 3 · 0.5 + 1/2
  }
}
