import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Broadcast")
struct BroadcastTests {
  @Test("repeating along a new axis sums the gradient back")
  func workedValues() {
    let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
    let b = x.broadcasted(to: [2, 3])
    #expect(b.value == Tensor([[1, 2, 3], [1, 2, 3]]))
    b.backward(seed: Tensor([[1, 10, 100], [2, 20, 200]]))
    #expect(x.grad == Tensor([3, 30, 300]))
    let column = Variable(Tensor<Double>([[1], [2]]), requiresGrad: true)
    column.broadcasted(to: [2, 3]).unbroadcasted(to: [2, 1]).sum().backward()
    #expect(column.grad == Tensor([[3], [3]]))
  }
}
