// Custom operations whose pullbacks use GradientAlgebra's elementwise vocabulary (abs, sign,
// masks, log, square roots), as a user writes them: they read like the math and serve every
// order of derivative.
import Backprop
import Testing

/// z = x / (1 + |x|). ∂z/∂x = 1 / (1 + |x|)².
struct Softsign<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "softsign" }

  func pullback<G: GradientAlgebra<Scalar>>(
    _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
  ) -> Operands<G?> {
    let denominator = inputs[0].abs() + 1
    return Operands(upstream / (denominator * denominator))
  }
}

func softsign<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Softsign(), Operands(x), value: x.value / (x.value.abs() + 1))
}

/// A hinge with a log: z = log(1 + x) for x > 0 and x/2 otherwise.
/// ∂z/∂x = mask/(1 + x) + (1 − mask)/2, with mask = (x > 0).
struct LogHinge<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "logHinge" }

  func pullback<G: GradientAlgebra<Scalar>>(
    _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
  ) -> Operands<G?> {
    let x = inputs[0]
    let positive = x .> 0
    // relu keeps the logarithm's argument positive where the mask discards it.
    let slope: G = positive / (x.relu() + 1) + (1 - positive) * 0.5
    return Operands(upstream * slope)
  }
}

func logHinge<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  let v = x.value
  let positive = v .> 0
  return Variable.record(
    LogHinge(), Operands(x), value: positive * (v.relu() + 1).log() + (1 - positive) * v * 0.5)
}

@Suite("Custom pullbacks in GradientAlgebra's vocabulary")
struct GradientVocabularyTests {
  let point = [Tensor<Double>([[-1.5, 0.2, 2], [0.7, -0.3, 1.1]])]

  @Test("softsign's pullback uses abs(): first and second order agree with finite differences")
  func softsignChecks() {
    #expect(checkGradients(at: point) { softsign($0[0]) }.passed)
    #expect(checkSecondOrderGradients(at: point) { softsign($0[0]) }.passed)
  }

  @Test("A pullback with a comparison mask and a log: first and second order")
  func maskChecks() {
    #expect(checkGradients(at: point) { logHinge($0[0]) }.passed)
    #expect(checkSecondOrderGradients(at: point) { logHinge($0[0]) }.passed)
  }

  @Test("Tensor and Variable spell the elementwise functions and reductions alike")
  func agreement() {
    let t = Tensor<Double>([[1, -2, 3], [-4, 5, -6]])
    let x = Variable(t, requiresGrad: true)
    #expect(x.abs().value == t.abs())
    #expect(x.sign().value == t.sign())
    #expect(x.tanh().value == t.tanh() && x.exp().value == t.exp() && x.relu().value == t.relu())
    #expect(x.max(squeezingAxis: 1).value == t.max(squeezingAxis: 1))
    #expect(x.max(squeezingAxis: 1).shape == [2] && x.mean(alongAxis: 0).shape == [1, 3])
    #expect(x.variance(squeezingAxes: [0, 1]).value == t.variance(squeezingAxes: [0, 1]))
    #expect(logSumExp(x, squeezingAxis: -1).value == logSumExp(t, squeezingAxes: [-1]))
    #expect((x .> 0).value == (t .> 0) && !(x .> 0).requiresGrad)
  }

  @Test("The squeezing and one-axis forms have the gradients of their kept-axes forms")
  func squeezedGradients() {
    for reduce in [
      { (v: Variable<Double>) in v.mean(squeezingAxis: 1) }, { $0.max(squeezingAxes: [0]) },
      { $0.min(squeezingAxis: -1) }, { $0.variance(squeezingAxis: 0) }, { logSumExp($0, squeezingAxis: 1) },
      { $0.sum(alongAxis: 1) },
    ] {
      #expect(checkGradients(at: point) { reduce($0[0]) }.passed)
    }
  }
}
