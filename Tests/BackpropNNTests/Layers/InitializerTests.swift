import Backprop
import BackpropTestSupport
import Testing

@Suite("Initializers")
struct InitializerTests {
  static func statistics(_ t: Tensor<Double>) -> (mean: Double, variance: Double) {
    let mean = t.mean().scalar
    return (mean, t.map { ($0 - mean) * ($0 - mean) }.mean().scalar)
  }

  @Test("He normal: mean 0, variance 2/fanIn (within 5%)")
  func heNormal() {
    var rng = SeededRandomNumberGenerator(seed: 1)
    let w: Tensor<Double> = Initializer.heNormal.weights(fanIn: 200, fanOut: 300, using: &rng)
    let (mean, variance) = Self.statistics(w)
    #expect(Swift.abs(mean) < 0.005)
    #expect(Swift.abs(variance / (2.0 / 200) - 1) < 0.05)
  }

  @Test("Glorot uniform: within ±√(6/(in+out)), variance 2/(in+out) (within 5%)")
  func glorotUniform() {
    var rng = SeededRandomNumberGenerator(seed: 2)
    let w: Tensor<Double> = Initializer.glorotUniform.weights(fanIn: 200, fanOut: 300, using: &rng)
    let limit = (6.0 / 500).squareRoot()
    #expect(w.scalars.allSatisfy { Swift.abs($0) <= limit })
    let (mean, variance) = Self.statistics(w)
    #expect(Swift.abs(mean) < 0.005)
    #expect(Swift.abs(variance / (2.0 / 500) - 1) < 0.05)
  }

  @Test("Uniform unit: [0, 1), mean ½, variance 1/12 (within 5%); zeros are zeros")
  func uniformAndZeros() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let w: Tensor<Double> = Initializer.uniformUnit.weights(fanIn: 200, fanOut: 300, using: &rng)
    #expect(w.scalars.allSatisfy { $0 >= 0 && $0 < 1 })
    let (mean, variance) = Self.statistics(w)
    #expect(Swift.abs(mean - 0.5) < 0.01)
    #expect(Swift.abs(variance * 12 - 1) < 0.05)
    let z: Tensor<Double> = Initializer.zeros.weights(fanIn: 3, fanOut: 2, using: &rng)
    #expect(z == Tensor(zeros: [3, 2]))
  }

  @Test("Dense picks He normal for ReLU and the same seed gives the same weights")
  func denseSeeding() {
    var a = SeededRandomNumberGenerator(seed: 5)
    var b = SeededRandomNumberGenerator(seed: 5)
    let first = Dense<Float>(inputSize: 3, outputSize: 2, activation: .relu, using: &a)
    let second = Dense<Float>(inputSize: 3, outputSize: 2, activation: .relu, using: &b)
    #expect(first.weight.value == second.weight.value)
    var c = SeededRandomNumberGenerator(seed: 5)
    #expect(first.weight.value == Initializer.heNormal.weights(fanIn: 3, fanOut: 2, using: &c))
  }
}
