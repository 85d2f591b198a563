import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Divide")
struct DivideTests {
  @Test("6 / 3: ∂/∂x = 1/3, ∂/∂y = −6/9")
  func workedValues() {
    let x = Variable(6.0, requiresGrad: true)
    let y = Variable(3.0, requiresGrad: true)
    let z = x / y
    #expect(z.value == Tensor(2.0))
    z.backward()
    #expect(isClose(x.grad!.scalar, 1.0 / 3))
    #expect(isClose(y.grad!.scalar, -2.0 / 3))
  }
}
