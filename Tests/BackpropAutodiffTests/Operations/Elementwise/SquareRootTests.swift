import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("SquareRoot")
struct SquareRootTests {
  @Test("sqrt′(4) = 1/(2·2)")
  func workedValues() {
    let x = Variable(4.0, requiresGrad: true)
    let y = sqrt(x)
    #expect(y.value == Tensor(2.0))
    y.backward()
    #expect(x.grad == Tensor(0.25))
  }
}
