import Backprop
import BackpropTestSupport
import Testing

@Suite("Erf")
struct ErfTests {
  @Test("erf′(x) = 2/√π e^(−x²)")
  func workedValues() {
    let x = Variable(1.0, requiresGrad: true)
    let y = erf(x)
    #expect(isClose(y.value.scalar, 0.8427007929497149))
    y.backward()
    #expect(isClose(x.grad!.scalar, 0.41510749742059472))
  }
}
