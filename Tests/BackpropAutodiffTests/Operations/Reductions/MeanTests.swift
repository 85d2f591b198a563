import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Mean")
struct MeanTests {
  @Test("mean of four elements: gradient ¼ each")
  func workedValues() {
    let x = Variable(Tensor<Double>([2, 4, 6, 8]), requiresGrad: true)
    let m = x.mean()
    #expect(m.value == Tensor(5.0))
    m.backward()
    #expect(x.grad == Tensor([0.25, 0.25, 0.25, 0.25]))
    let rows = Variable(Tensor<Double>([[1, 3], [5, 7]]), requiresGrad: true)
    let byColumn = rows.mean(alongAxes: [0])
    #expect(byColumn.value == Tensor([[3, 5]]))
    byColumn.sum().backward()
    #expect(rows.grad == Tensor([[0.5, 0.5], [0.5, 0.5]]))
  }
}
