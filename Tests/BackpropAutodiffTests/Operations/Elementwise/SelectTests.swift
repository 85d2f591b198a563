import Backprop
import BackpropTestSupport
import Testing

@Suite("Select")
struct SelectTests {
  @Test("select follows the mask forward and backward; the operands broadcast")
  func workedValues() {
    let a = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
    let b = Variable(Tensor<Double>(10.0), requiresGrad: true)
    let y = select(a.value .> 1.5, a, b)
    #expect(y.value == Tensor([10, 2, 3]))
    y.sum().backward()
    #expect(a.grad == Tensor([0, 1, 1]) && b.grad == Tensor(1.0))
  }

  @Test("Comparisons make 0/1 masks and broadcast")
  func comparisons() {
    let x = Tensor<Double>([[1, 2], [3, 4]])
    #expect((x .> Tensor([2, 2])) == Tensor([[0, 0], [1, 1]]))
    #expect((x .<= 2) == Tensor([[1, 1], [0, 0]]))
    #expect((x .== 3) + (x .!= 3) == Tensor(ones: [2, 2]))
  }
}
