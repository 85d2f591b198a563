import Backprop
import BackpropTestSupport
import Testing

@Suite("Clamp")
struct ClampTests {
  @Test("clamped: gradient 1 strictly inside the range, 0 outside and at the bounds")
  func workedValues() {
    let x = Variable(Tensor<Double>([-2, -1, 0.5, 1, 3]), requiresGrad: true)
    let y = x.clamped(to: -1...1)
    #expect(y.value == Tensor([-1, -1, 0.5, 1, 1]))
    y.sum().backward()
    #expect(x.grad == Tensor([0, 0, 1, 0, 0]))
  }
}
