// The code of the DocC article "Adding an operation", as written there. This target depends
// only on `Backprop` and imports nothing else of the package, as a user's code would, so the
// article cannot rot.
import Backprop
import Foundation
import Testing

// MARK: - The article's operation

/// z = atan x. ∂z/∂x = 1 / (1 + x²).
struct Arctangent<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "atan" }

  func derivativeFormula(_ term: DerivativeTerm) -> String? {
    "1/(1 + \(term.differentiated)²)"
  }

  func pullback<G: GradientAlgebra<Scalar>>(
    _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
  ) -> Operands<G?> {
    let x = inputs[0]
    return Operands(upstream / (x * x + 1))
  }
}

/// The arctangent of each element.
///
/// Gradient: ∂(atan x)/∂x = 1 / (1 + x²).
func atan<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
  Variable.record(Arctangent(), Operands(x), value: x.value.map { Scalar(Foundation.atan(Double($0))) })
}

// MARK: - The article's tangent rule

extension Arctangent {
  /// dz = dx / (1 + x²).
  func tangent<G: GradientAlgebra<Scalar>>(_ tangents: Operands<G?>, inputs: PullbackInputs<G>, output: G)
    -> G
  {
    let x = inputs[0]
    return tangents[0]! / (x * x + 1)
  }
}

// MARK: - The article's first-order form

/// z = x³, with its pullback on tensors. ∂z/∂x = 3x².
struct Cube: FirstOrderOperation {
  typealias Scalar = Double
  var name: String { "cube" }

  func pullback(_ upstream: Tensor<Double>, inputs: [Tensor<Double>], output: Tensor<Double>)
    -> [Tensor<Double>?]
  {
    [upstream * inputs[0] * inputs[0] * 3]
  }
}

/// The cube of each element.
func cube(_ x: Variable<Double>) -> Variable<Double> {
  Variable.record(Cube(), Operands(x), value: x.value * x.value * x.value)
}

// MARK: - Tests

@Suite("An operation defined outside the package")
struct ExternalOperationTests {
  @Test("atan: worked values, gradient check and second-order check")
  func arctangent() {
    let x = Variable(1.0, requiresGrad: true)
    let y = atan(x)
    #expect(abs(y.value.scalar - Double.pi / 4) < 1e-15)
    y.backward()
    #expect(abs(x.grad!.scalar - 0.5) < 1e-15)

    let point = [Tensor<Double>([[-1.5, 0.2, 2], [0.7, -0.3, 1]])]
    #expect(checkGradients(at: point) { atan($0[0]) }.passed)
    #expect(checkSecondOrderGradients(at: point) { atan($0[0]) }.passed)
  }

  @Test("atan shows up by name in graph pictures and with its formula in chain-rule traces")
  func looking() {
    let x = Variable(Tensor<Double>([[0.5]]), requiresGrad: true, name: "x")
    let loss = (atan(x) * 2).sum().named("L")
    #expect(loss.graphviz().contains("label=\"atan\""))
    let trace = chainRuleTrace(of: loss, withRespectTo: x, at: [0, 0])
    #expect(trace.agreesWithTape())
    #expect(trace.description.contains("1/(1 + x²)"))
  }

  @Test("A first-order operation: gradients from its tensor pullback")
  func firstOrder() {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    cube(x).sum().backward()
    #expect(x.grad == Tensor([3, 12]))
    #expect(checkGradients(at: [Tensor<Double>([0.5, -1.5])]) { cube($0[0]) }.passed)
  }

  @Test("Differentiating a first-order operation twice stops, naming it")
  func firstOrderOnly() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Variable(2.0, requiresGrad: true)
      _ = gradients(of: cube(x), withRespectTo: [x], createGraph: true)
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("cube: second and higher derivatives are not supported"))
  }

  @Test("Anomaly detection names the operation")
  func anomaly() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      withAnomalyDetection {
        let x = Variable(Tensor<Double>([.nan]), requiresGrad: true)
        _ = atan(x)
      }
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("forward of atan produced a non-finite value"))
  }

  @Test("Forward mode: atan with its tangent rule, and the first-order cube by transposition")
  func forwardMode() {
    let point = [Tensor<Double>([[-1.5, 0.2, 2], [0.7, -0.3, 1]])]
    #expect(checkForwardGradients(at: point) { atan($0[0]) }.passed)
    #expect(checkForwardGradients(at: point) { cube($0[0]) }.passed)
    let x = Variable(Tensor<Double>([1]), tangent: Tensor([2]))
    #expect(abs(atan(x).tangent!.value.scalars[0] - 1) < 1e-15)  // 2 / (1 + 1²)
  }
}
