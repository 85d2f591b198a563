import Backprop
import BackpropTestSupport
import Testing

@Suite("gelu")
struct GELUTests {
  @Test("Exact gelu and its gradient against PyTorch's values")
  func workedValues() {
    let x = Variable(Tensor<Double>([-1, 0, 1]), requiresGrad: true)
    let y = gelu(x)
    #expect(isClose(y.value, Tensor([-0.15865525393145707, 0, 0.8413447460685429])))
    y.sum().backward()
    #expect(isClose(x.grad!, Tensor([-0.08331547058768657, 0.5, 1.0833154705876864])))
  }

  @Test("The gradient is the upstream gradient times the derivative, bit for bit (recorded: to rounding)")
  func gradientIsTheProduct() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let x = Variable(
      Tensor<Float>(randomUniform: [3, 37], lowerBound: -4, upperBound: 4, using: &rng), requiresGrad: true)
    let g = Tensor<Float>(randomUniform: [3, 37], lowerBound: -1, upperBound: 1, using: &rng)
    let expected = g * x.value.geluDerivative()
    (gelu(x) * g).sum().backward()
    #expect(x.grad == expected)
    // Recorded, the derivative is made of its parts (erf, e^x), so it agrees to rounding.
    let recorded = gradients(of: (gelu(x) * g).sum(), withRespectTo: [x], createGraph: true)[0]
    #expect(isClose(recorded.value, expected, absoluteTolerance: 1e-6, relativeTolerance: 1e-5))
  }

  @Test("Float (vectorised kernel) agrees with Double, value and gradient, tails included")
  func floatAgreesWithDouble() {
    var rng = SeededRandomNumberGenerator(seed: 12)
    for count in [1, 7, 8, 9, 100] {
      let values = Tensor<Double>(randomUniform: [count], lowerBound: -6, upperBound: 6, using: &rng)
      let double = Variable(values, requiresGrad: true)
      let float = Variable(Tensor<Float>(values.scalars.map(Float.init)), requiresGrad: true)
      let (yd, yf) = (gelu(double), gelu(float))
      yd.sum().backward()
      yf.sum().backward()
      for i in 0..<count {
        #expect(
          abs(Double(yf.value[scalarAt: i]) - yd.value[scalarAt: i]) <= 1e-6
            * max(1, abs(yd.value[scalarAt: i])))
        #expect(abs(Double(float.grad![scalarAt: i]) - double.grad![scalarAt: i]) <= 1e-6)
      }
    }
  }
}
