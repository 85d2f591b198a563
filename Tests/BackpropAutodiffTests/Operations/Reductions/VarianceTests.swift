import Backprop
import BackpropTestSupport
import Testing

@Suite("Variance")
struct VarianceTests {
  @Test("variance is the population variance; ∂/∂xᵢ = 2(xᵢ − mean)/n")
  func workedValues() {
    let x = Variable(Tensor<Double>([[1, 2, 3, 6]]), requiresGrad: true)
    let v = x.variance(alongAxes: [1])
    #expect(v.value == Tensor([[3.5]]))
    v.sum().backward()
    #expect(isClose(x.grad!, Tensor([[-1, -0.5, 0, 1.5]])))
  }
}
