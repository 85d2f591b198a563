import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Transpose")
struct TransposeTests {
  @Test("the gradient is the upstream gradient transposed back")
  func workedValues() {
    let x = Variable(Tensor<Double>([[1, 2, 3], [4, 5, 6]]), requiresGrad: true)
    let t = x.transposed()
    #expect(t.value == Tensor([[1, 4], [2, 5], [3, 6]]))
    t.backward(seed: Tensor([[1, 2], [3, 4], [5, 6]]))
    #expect(x.grad == Tensor([[1, 3, 5], [2, 4, 6]]))
  }
}
