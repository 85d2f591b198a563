import Backprop
import BackpropTestSupport
import Testing

@Suite("Gather")
struct GatherTests {
  @Test("gathering: repeated indices accumulate in the backward pass")
  func workedValues() {
    let table = Variable(Tensor<Double>([[1, 1], [2, 2], [3, 3]]), requiresGrad: true)
    let rows = table.gathering(atIndices: [2, 0, 2], alongAxis: 0)
    #expect(rows.value == Tensor([[3, 3], [1, 1], [3, 3]]))
    rows.sum().backward()
    #expect(table.grad == Tensor([[1, 1], [0, 0], [2, 2]]))
  }

  @Test("scatteringAdd adds slices at their indices; its gradient gathers them back")
  func scatter() {
    let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
    let y = x.scatteringAdd(atIndices: [1, 1, 0], alongAxis: 0, extent: 2)
    #expect(y.value == Tensor([3, 3]))
    (y * Variable(Tensor([10, 20]))).sum().backward()
    #expect(x.grad == Tensor([20, 20, 10]))
  }
}
