import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Log")
struct LogTests {
  @Test("log′(2) = ½")
  func workedValues() {
    let x = Variable(2.0, requiresGrad: true)
    let y = log(x)
    #expect(isClose(y.value.scalar, 0.6931471805599453))
    y.backward()
    #expect(x.grad == Tensor(0.5))
  }
}
