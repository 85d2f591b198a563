import Backprop
import BackpropTestSupport
import Testing

@Suite("Concatenate")
struct ConcatenateTests {
  @Test("concatenate and stack: each part gets its slice of the gradient; a repeated part both")
  func workedValues() {
    let a = Variable(Tensor<Double>([[1, 2]]), requiresGrad: true)
    let b = Variable(Tensor<Double>([[3]]), requiresGrad: true)
    let joined = concatenate([a, b, a], alongAxis: 1)
    #expect(joined.value == Tensor([[1, 2, 3, 1, 2]]))
    (joined * Variable(Tensor([[1, 2, 3, 4, 5]]))).sum().backward()
    #expect(a.grad == Tensor([[5, 7]]) && b.grad == Tensor([[3]]))
    a.zeroGrad()
    let stacked = stack([a, a * 2], alongAxis: 0)
    #expect(stacked.shape == [2, 1, 2])
    stacked.sum().backward()
    #expect(a.grad == Tensor([[3, 3]]))
  }
}
