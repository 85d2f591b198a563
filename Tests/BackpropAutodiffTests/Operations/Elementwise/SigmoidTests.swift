import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Sigmoid")
struct SigmoidTests {
  @Test("sigmoid(0) = ½ and sigmoid′(0) = ¼ = S(1 − S)")
  func workedValues() {
    let x = Variable(Tensor<Double>([0, 2]), requiresGrad: true)
    let s = sigmoid(x)
    #expect(s.value.scalars[0] == 0.5)
    s.sum().backward()
    let s2 = 1 / (1 + Foundation.exp(-2.0))
    #expect(x.grad!.scalars[0] == 0.25)
    #expect(isClose(x.grad!.scalars[1], s2 * (1 - s2)))
  }
}
