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

  @Test("Batched products: the last two axes multiply, batch axes broadcast, gradients sum back")
  func batched() {
    let a = Variable(Tensor<Double>([[[1, 2]], [[3, 4]]]), requiresGrad: true)  // [2, 1, 2]
    let b = Variable(Tensor<Double>([[1, 0, 2], [0, 1, 3]]), requiresGrad: true)  // [2, 3], shared
    let c = matmul(a, b)
    #expect(c.value == Tensor([[[1, 2, 8]], [[3, 4, 18]]]))
    c.sum().backward()
    #expect(a.grad == Tensor([[[3, 4]], [[3, 4]]]))
    #expect(b.grad == Tensor([[4, 4, 4], [6, 6, 6]]))  // Σ over the batch of aᵀ·1
    for item in 0..<2 {
      #expect(c.value[item] == matmul(a.value[item], b.value))
    }
  }

  @Test("Batch axes that do not broadcast stop, naming both shapes")
  func batchMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Double>(zeros: [2, 3, 4]), Tensor<Double>(zeros: [3, 4, 5]))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      message.contains(
        "matmul: shapes [2, 3, 4] and [3, 4, 5] do not broadcast in their batch axes [2] and [3]"))
  }
}
