import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("SquaredError")
struct SquaredErrorTests {
  @Test("J = ½(p − e)² with p = 0.512, e = 1: dJ/dp = p − e")
  func workedValues() {
    let p = Variable(Tensor<Double>([0.512]), requiresGrad: true)
    let j = squaredError(predicted: p, target: Tensor([1]))
    #expect(isClose(j.value.scalar, 0.5 * 0.488 * 0.488))
    j.backward()
    #expect(isClose(p.grad!.scalar, -0.488))
    let e = Variable(Tensor<Double>([1]), requiresGrad: true)
    squaredError(predicted: p.detached(), target: e).backward()
    #expect(isClose(e.grad!.scalar, 0.488))
  }
}
