import Backprop
import BackpropTestSupport
import Testing

@Suite("Sine and cosine")
struct SineTests {
  @Test("sin′ = cos, cos′ = −sin")
  func workedValues() {
    let x = Variable(1.0, requiresGrad: true)
    let y = sin(x) + cos(x)
    #expect(isClose(y.value.scalar, 0.8414709848078965 + 0.5403023058681398))
    y.backward()
    #expect(isClose(x.grad!.scalar, 0.5403023058681398 - 0.8414709848078965))
  }
}
