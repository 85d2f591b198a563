import BackpropTensor
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The C kernels behind `squareRoot()`, `exp()` and `erf()`: square roots bit for bit against
/// Swift's, e^x and erf x in Float against the Double functions rounded to Float.
@Suite("Elementwise kernels")
struct ElementwiseKernelTests {
  /// The distance in units in the last place between two Floats of the same sign.
  static func ulps(_ a: Float, _ b: Float) -> Int {
    if a == b || (a.isNaN && b.isNaN) { return 0 }
    return abs(Int(a.bitPattern) - Int(b.bitPattern))
  }

  /// Every 7th Float step across `range`, plus the lengths 1 to 17 (the padded tails).
  static func worstError(
    over range: ClosedRange<Float>, _ tensorFunction: (Tensor<Float>) -> Tensor<Float>,
    _ exact: (Double) -> Double
  ) -> (ulps: Int, at: Float) {
    let count = 20_011
    let xs = (0..<count).map {
      range.lowerBound + (range.upperBound - range.lowerBound) * Float($0) / Float(count)
    }
    var worst = (ulps: 0, at: Float(0))
    for slice in [xs[...]] + (1...17).map({ xs[100..<(100 + $0)] }) {
      let ys = tensorFunction(Tensor(Array(slice))).scalars
      for (x, y) in zip(slice, ys) {
        let error = ulps(y, Float(exact(Double(x))))
        if error > worst.ulps { worst = (error, x) }
      }
    }
    return worst
  }

  @Test("exp is within 2 ulp from −100 to 100; overflow, underflow, infinities and NaN as expf")
  func exponential() {
    let worst = Self.worstError(over: -100...100, { $0.exp() }, Glibc.exp)
    #expect(worst.ulps <= 2, "\(worst.ulps) ulp at \(worst.at)")
    let special: [Float] = [0, -0.0, .infinity, -.infinity, 89, -87.5, -104, -110, 1e-30]
    let results = Tensor(special).exp().scalars
    for (x, y) in zip(special, results) { #expect(Self.ulps(y, expf(x)) <= 1, "exp(\(x)) = \(y)") }
    #expect(Tensor<Float>([.nan, 1]).exp().scalars[0].isNaN)
    #expect(Tensor<Float>(Float(0)).exp().scalar == 1)
  }

  @Test("erf is within 2 ulp from −6 to 6, odd, 1 beyond 3.9375; NaN stays NaN")
  func errorFunction() {
    let worst = Self.worstError(over: -6...6, { $0.erf() }, Glibc.erf)
    #expect(worst.ulps <= 2, "\(worst.ulps) ulp at \(worst.at)")
    let special: [Float] = [
      0, -0.0, .infinity, -.infinity, 3.95, -4, 1e-30, -1e-30, Float.leastNormalMagnitude / 4,
    ]
    let results = Tensor(special).erf().scalars
    for (x, y) in zip(special, results) { #expect(Self.ulps(y, erff(x)) <= 1, "erf(\(x)) = \(y)") }
    #expect(results[1].sign == .minus)
    #expect(Tensor<Float>([.nan, 1]).erf().scalars[0].isNaN)
  }

  @Test("squareRoot gives Swift's squareRoot bit for bit, Float and Double, tails and specials included")
  func squareRoots() {
    let values: [Double] =
      [0, -0.0, 1, 2, 1e-300, 3.5e300, .infinity, -1, .nan, 0.25] + (0..<23).map { Double($0) * 1.37 }
    for count in [1, 3, 8, 9, values.count] {
      let slice = Array(values.prefix(count))
      let double = Tensor(slice).squareRoot().scalars
      let float = Tensor(slice.map(Float.init)).squareRoot().scalars
      #expect(double.map(\.bitPattern) == slice.map { $0.squareRoot().bitPattern })
      #expect(float.map(\.bitPattern) == slice.map { Float($0).squareRoot().bitPattern })
    }
    #expect(Tensor<Double>(Double(4)).squareRoot().scalar == 2)
  }
}
