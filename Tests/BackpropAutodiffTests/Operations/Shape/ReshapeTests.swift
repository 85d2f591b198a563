import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Reshape")
struct ReshapeTests {
  @Test("the gradient is the upstream gradient reshaped back")
  func workedValues() {
    let x = Variable(Tensor<Double>([[1, 2, 3], [4, 5, 6]]), requiresGrad: true)
    let r = x.reshaped(to: [3, 2])
    #expect(r.value == Tensor([[1, 2], [3, 4], [5, 6]]))
    r.backward(seed: Tensor([[1, 2], [3, 4], [5, 6]]))
    #expect(x.grad == Tensor([[1, 2, 3], [4, 5, 6]]))
  }
}
