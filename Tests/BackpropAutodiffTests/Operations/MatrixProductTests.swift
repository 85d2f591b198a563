import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("MatrixProduct")
struct MatrixProductTests {
  @Test("A·B: ∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G")
  func workedValues() {
    let a = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    let b = Variable(Tensor<Double>([[5, 6], [7, 8]]), requiresGrad: true)
    let c = matmul(a, b)
    #expect(c.value == Tensor([[19, 22], [43, 50]]))
    c.sum().backward()
    #expect(a.grad == Tensor([[11, 15], [11, 15]]))
    #expect(b.grad == Tensor([[4, 4], [6, 6]]))
  }
}
