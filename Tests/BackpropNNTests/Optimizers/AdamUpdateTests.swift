import BackpropTensor
import Foundation
import Testing

@testable import BackpropNN

@Suite("Adam's fused update")
struct TensorAdamTests {
  /// The update written as tensor arithmetic, as the optimiser spells it out.
  static func reference<Scalar: TensorScalar>(
    _ value: Tensor<Scalar>, _ first: Tensor<Scalar>, _ second: Tensor<Scalar>, _ gradient: Tensor<Scalar>,
    decay: Scalar
  ) -> [Tensor<Scalar>] {
    let (beta1, beta2, correction1, correction2): (Scalar, Scalar, Scalar, Scalar) = (
      0.9, 0.999, 0.271, 0.00399
    )
    let gradient = decay == 0 ? gradient : gradient + value * decay
    let m = first * beta1 + gradient * (1 - beta1)
    let v = second * beta2 + gradient * gradient * (1 - beta2)
    let step = m / correction1 * Scalar(0.003) / ((v / correction2).squareRoot() + Scalar(1e-8))
    return [value - step, m, v]
  }

  /// The cases where the kernel's results differ from the formula's bits, or could not be made.
  static func mismatches<Scalar: TensorScalar>(_: Scalar.Type) -> [String] {
    var found: [String] = []
    var rng = SeededRandomNumberGenerator(seed: 31)
    for count in [1, 3, 8, 13, 100] {
      for decay: Scalar in [0, 0.01] {
        var value = Tensor<Scalar>(randomUniform: [count], lowerBound: -1, upperBound: 1, using: &rng)
        var first = Tensor<Scalar>(randomUniform: [count], lowerBound: -0.1, upperBound: 0.1, using: &rng)
        var second = Tensor<Scalar>(randomUniform: [count], lowerBound: 0, upperBound: 0.01, using: &rng)
        let gradient = Tensor<Scalar>(randomUniform: [count], lowerBound: -1, upperBound: 1, using: &rng)
        let expected = reference(value, first, second, gradient, decay: decay)
        let fused = Tensor.adamUpdate(
          &value, firstMoment: &first, secondMoment: &second, gradient: gradient, learningRate: 0.003,
          beta1: 0.9,
          beta2: 0.999, correction1: 0.271, correction2: 0.00399, epsilon: 1e-8, decay: decay)
        if !fused || [value, first, second] != expected {
          found.append("\(Scalar.self), \(count) scalars, decay \(decay)")
        }
      }
    }
    return found
  }

  @Test("The kernel gives the tensor formula's bits, Float and Double, tails and weight decay included")
  func sameBitsAsTheFormula() {
    #expect(Self.mismatches(Float.self).isEmpty && Self.mismatches(Double.self).isEmpty)
  }

  @Test("The portable path (BACKPROP_KERNELS=portable) gives the same bits")
  func portablePath() async {
    await #expect(processExitsWith: .success) {
      setenv("BACKPROP_KERNELS", "portable", 1)
      let found = TensorAdamTests.mismatches(Float.self) + TensorAdamTests.mismatches(Double.self)
      precondition(found.isEmpty, "differs from the formula: \(found)")
    }
  }

  @Test("Moments of another size are left to the caller")
  func mismatchedSizes() {
    var value = Tensor<Double>(zeros: [4])
    var first = Tensor<Double>(zeros: [3])
    var second = Tensor<Double>(zeros: [4])
    #expect(
      !Tensor.adamUpdate(
        &value, firstMoment: &first, secondMoment: &second, gradient: Tensor(ones: [4]), learningRate: 1,
        beta1: 0.9, beta2: 0.999, correction1: 1, correction2: 1, epsilon: 1e-8, decay: 0))
    #expect(value == Tensor(zeros: [4]))
  }
}
