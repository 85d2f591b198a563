import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Exp")
struct ExpTests {
  @Test("exp′ = exp")
  func workedValues() {
    let x = Variable(1.0, requiresGrad: true)
    let y = exp(x)
    #expect(isClose(y.value.scalar, 2.718281828459045))
    y.backward()
    #expect(isClose(x.grad!.scalar, 2.718281828459045))
  }
}
