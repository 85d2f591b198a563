import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Softmax")
struct SoftmaxTests {
  @Test("softmax([0, ln 3]) = [¼, ¾]; logSumExp′ = softmax")
  func workedValues() {
    let x = Variable(Tensor<Double>([0, Foundation.log(3)]), requiresGrad: true)
    #expect(isClose(softmax(x).value, Tensor([0.25, 0.75])))
    #expect(isClose(logSoftmax(x).value, Tensor([Foundation.log(0.25), Foundation.log(0.75)])))
    let lse = logSumExp(x, alongAxes: [0])
    #expect(isClose(lse.value, Tensor([Foundation.log(4)])))
    lse.sum().backward()
    #expect(isClose(x.grad!, Tensor([0.25, 0.75])))
  }

  @Test("softmax along the first axis normalises each column")
  func alongAxis() {
    let x = Variable(Tensor<Double>([[0, 1], [0, 1]]), requiresGrad: true)
    let p = softmax(x, alongAxis: 0)
    #expect(isClose(p.value, Tensor([[0.5, 0.5], [0.5, 0.5]])))
    #expect(isClose(logSoftmax(x, alongAxis: 0).value.exp(), p.value))
  }
}
