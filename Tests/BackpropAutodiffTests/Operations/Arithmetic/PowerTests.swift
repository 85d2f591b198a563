import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Power")
struct PowerTests {
  @Test("pow(3, 2) = 9 with gradient 6; pow(4, ½) = 2 with gradient ¼")
  func workedValues() {
    let x = Variable(3.0, requiresGrad: true)
    let y = pow(x, 2)
    #expect(y.value == Tensor(9.0))
    y.backward()
    #expect(x.grad == Tensor(6.0))
    let u = Variable(4.0, requiresGrad: true)
    pow(u, 0.5).backward()
    #expect(isClose(u.grad!.scalar, 0.25))
  }
}
