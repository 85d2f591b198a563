import Backprop
import BackpropTestSupport
import Foundation
import Testing

@testable import BackpropAutodiff

/// Gradients of gradients: `createGraph: true`, `jacobian`, `hessian`, `hessianVectorProduct`.
@Suite("Higher-order gradients")
struct HigherOrderTests {
  @Test("The documented spelling: d/dx x³ = 3x² = 12, then d²/dx² = 6x = 12 at x = 2")
  func contract() {
    let x = Variable(2.0, requiresGrad: true)
    let y = pow(x, 3)
    let dx = gradients(of: y, withRespectTo: [x], createGraph: true)[0]  // 3x² = 12, a Variable
    let d2x = gradients(of: dx, withRespectTo: [x])[0]  // 6x  = 12
    #expect(dx.value == Tensor(12.0) && d2x.value == Tensor(12.0))
  }

  @Test("d³/dx³ x⁴ = 24x", arguments: [-1.5, 0.5, 2.0])
  func thirdDerivative(x0: Double) {
    let x = Variable(x0, requiresGrad: true)
    let first = gradients(of: pow(x, 4), withRespectTo: [x], createGraph: true)[0]
    let second = gradients(of: first, withRespectTo: [x], createGraph: true)[0]
    let third = gradients(of: second, withRespectTo: [x])[0]
    #expect(isClose(first.value.scalar, 4 * x0 * x0 * x0, absoluteTolerance: 1e-12))
    #expect(isClose(second.value.scalar, 12 * x0 * x0, absoluteTolerance: 1e-12))
    #expect(isClose(third.value.scalar, 24 * x0, absoluteTolerance: 1e-12))
  }

  @Test("Second derivatives of sigmoid, tanh, exp and log against their closed forms")
  func closedForms() {
    let points: [Double] = [0.3, 0.7, 1.1, 2.5]
    let cases: [(String, (Variable<Double>) -> Variable<Double>, (Double) -> Double)] = [
      (
        "sigmoid", sigmoid,
        { x in
          let s = 1 / (1 + Foundation.exp(-x)); return s * (1 - s) * (1 - 2 * s)
        }
      ),
      (
        "tanh", tanh,
        { x in
          let t = Foundation.tanh(x); return -2 * t * (1 - t * t)
        }
      ),
      ("exp", exp, { x in Foundation.exp(x) }),
      ("log", log, { x in -1 / (x * x) }),
    ]
    for (name, function, closedForm) in cases {
      let x = Variable(Tensor(points), requiresGrad: true)
      let first = gradients(of: function(x).sum(), withRespectTo: [x], createGraph: true)[0]
      let second = gradients(of: first.sum(), withRespectTo: [x])[0].value
      #expect(
        isClose(second, Tensor(points.map(closedForm)), absoluteTolerance: 1e-12, relativeTolerance: 1e-10),
        "\(name)'' = \(second)")
      // The helper agrees: the Hessian of Σ f(xᵢ) is diagonal with f''(xᵢ).
      let h = hessian(of: { function($0).sum() }, at: Tensor(points))
      for i in points.indices {
        #expect(isClose(h[scalarAt: [i, i]], closedForm(points[i]), absoluteTolerance: 1e-12))
      }
    }
  }

  /// The Hessian by central differences of the (first-order) gradient: column j is
  /// (∇f(x + εeⱼ) − ∇f(x − εeⱼ)) / 2ε.
  static func hessianByDifferences(
    of function: (Variable<Double>) -> Variable<Double>, at point: Tensor<Double>, epsilon: Double = 1e-4
  ) -> Tensor<Double> {
    let n = point.scalarCount
    var h = Tensor<Double>(zeros: [n, n])
    func gradient(_ p: Tensor<Double>) -> Tensor<Double> {
      let x = Variable(p, requiresGrad: true)
      return gradients(of: function(x), withRespectTo: [x])[0].value
    }
    for j in 0..<n {
      var plus = point
      var minus = point
      plus.scalars[j] += epsilon
      minus.scalars[j] -= epsilon
      let column = zip(gradient(plus).scalars, gradient(minus).scalars).map { ($0 - $1) / (2 * epsilon) }
      for i in 0..<n { h.scalars[i * n + j] = column[i] }
    }
    return h
  }

  /// A 2-3-1 tanh MLP's squared-error loss as a function of all 13 parameters in one vector θ.
  /// The parameters are cut out of θ by constant selection matrices, so the whole loss stays
  /// differentiable with respect to θ.
  static func mlpLoss(_ theta: Variable<Double>) -> Variable<Double> {
    func slice(_ start: Int, _ count: Int, shape: [Int]) -> Variable<Double> {
      var selection = Tensor<Double>(zeros: [13, count])
      for k in 0..<count { selection.scalars[(start + k) * count + k] = 1 }
      return matmul(theta.reshaped(to: [1, 13]), Variable(selection)).reshaped(to: shape)
    }
    let w1 = slice(0, 6, shape: [2, 3])
    let b1 = slice(6, 3, shape: [3])
    let w2 = slice(9, 3, shape: [3, 1])
    let b2 = slice(12, 1, shape: [1])
    let x = Variable(Tensor<Double>([[0, 1], [1, 0], [1, 1], [0.5, -0.5]]))
    let y = Tensor<Double>([[1], [1], [0], [0.5]])
    return squaredError(predicted: matmul(tanh(matmul(x, w1) + b1), w2) + b2, target: y)
  }

  @Test("Hessian of a small MLP loss: central differences of the gradient, and symmetric")
  func mlpHessian() {
    var rng = SeededRandomNumberGenerator(seed: 5)
    let theta = Tensor<Double>(randomUniform: [13], lowerBound: -1, upperBound: 1, using: &rng)
    let h = hessian(of: Self.mlpLoss, at: theta)
    #expect(h.shape == [13, 13])
    let reference = Self.hessianByDifferences(of: Self.mlpLoss, at: theta)
    #expect(isClose(h, reference, absoluteTolerance: 1e-5, relativeTolerance: 1e-3), "\(h) vs \(reference)")
    #expect(isClose(h, h.transposed(), absoluteTolerance: 1e-12))
    #expect(h[scalarAt: [12, 12]] == 4)  // J = ½ Σ (p − y)² over 4 samples, so ∂²J/∂b2² = 4
  }

  @Test("Hessian of log-sum-exp: diag(p) − ppᵀ, central differences, symmetric")
  func logSumExpHessian() {
    let point = Tensor<Double>([0.5, -1, 2, 0.1])
    let f: (Variable<Double>) -> Variable<Double> = { logSumExp($0, alongAxes: [0]).sum() }
    let h = hessian(of: f, at: point)
    let p = point.exp() / point.exp().sum()
    var expected = Tensor<Double>(zeros: [4, 4])
    for i in 0..<4 {
      for j in 0..<4 {
        expected.scalars[i * 4 + j] = (i == j ? p.scalars[i] : 0) - p.scalars[i] * p.scalars[j]
      }
    }
    #expect(isClose(h, expected, absoluteTolerance: 1e-12))
    #expect(
      isClose(
        h, Self.hessianByDifferences(of: f, at: point), absoluteTolerance: 1e-5, relativeTolerance: 1e-3))
    #expect(isClose(h, h.transposed(), absoluteTolerance: 1e-15))
  }

  @Test("Hessian-vector product equals H·v without forming H")
  func hessianVectorProducts() {
    var rng = SeededRandomNumberGenerator(seed: 8)
    let theta = Tensor<Double>(randomUniform: [13], lowerBound: -1, upperBound: 1, using: &rng)
    let v = Tensor<Double>(randomUniform: [13], lowerBound: -1, upperBound: 1, using: &rng)
    let hv = hessianVectorProduct(of: Self.mlpLoss, at: theta, vector: v)
    let h = hessian(of: Self.mlpLoss, at: theta)
    #expect(isClose(hv, matmul(h, v.reshaped(to: [13, 1])).reshaped(to: [13]), absoluteTolerance: 1e-12))
  }

  @Test("Jacobian of softmax is diag(p) − ppᵀ; of an affine map, the matrix")
  func jacobians() {
    let point = Tensor<Double>([1, 2, 3])
    let j = jacobian(of: { softmax($0) }, at: point)
    let p = softmax(Variable(point)).value
    #expect(j.shape == [3, 3])
    for r in 0..<3 {
      for c in 0..<3 {
        #expect(
          isClose(
            j[scalarAt: [r, c]], (r == c ? p[scalarAt: r] : 0) - p[scalarAt: r] * p[scalarAt: c],
            absoluteTolerance: 1e-15))
      }
    }
    let a = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
    let affine = jacobian(
      of: { matmul(Variable(a), $0.reshaped(to: [3, 1])).reshaped(to: [2]) + 1 }, at: point)
    #expect(affine == a)
  }

  @Test("backward(createGraph: true) leaves a differentiable .grad graph behind")
  func backwardCreateGraph() {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let loss = (x * x * x).sum()  // Σ x³
    let first = gradients(of: loss, withRespectTo: [x], createGraph: true)[0]  // 3x²
    loss.backward(createGraph: true)
    #expect(x.grad == first.value)
    let second = gradients(of: first.sum(), withRespectTo: [x])[0]  // 6x
    #expect(second.value == Tensor([6, 12]))
  }

  /// A stand-in for an operation whose pullback cannot be recorded (no built-in one is like that).
  struct FirstOrderOnly: DifferentiableOperation {
    typealias Scalar = Double
    var name: String { "firstOrderOnly" }
    var supportsHigherOrder: Bool { false }
    func pullback<G: GradientAlgebra<Double>>(
      _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
    )
      -> Operands<G?>
    {
      [upstream]
    }
  }

  static func differentiateTwiceThroughFirstOrderOnly() {
    let x = Variable(1.0, requiresGrad: true)
    let y = Variable.record(FirstOrderOnly(), [x], value: x.value)
    _ = gradients(of: y, withRespectTo: [x])  // first order works
    _ = gradients(of: y, withRespectTo: [x], createGraph: true)
  }

  @Test("An operation without second-derivative support is named in the error")
  func unsupported() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      HigherOrderTests.differentiateTwiceThroughFirstOrderOnly()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("firstOrderOnly: second and higher derivatives are not supported"))
  }
}
