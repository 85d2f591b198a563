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

  @Test("x + c and x − c record one input: the constant is not a leaf")
  func constants() {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let shifted = x + 3.0
    let lowered = x - Tensor([[1, 1], [2, 2]])  // broadcasts x to [2, 2]
    #expect(shifted.inputs.count == 1 && lowered.inputs.count == 1)
    #expect(shifted.value == Tensor([4, 5]))
    #expect(lowered.value == Tensor([[0, 1], [-1, 0]]))
    (shifted.sum() + lowered.sum() + (Tensor(0.5) + x).sum()).backward()
    #expect(x.grad == Tensor([4, 4]))  // 1 + 2 (summed over the broadcast axis) + 1
  }
}
