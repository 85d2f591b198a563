import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// Forward mode: `jvp`, and `jacobian` in both modes.
@Suite("Forward mode")
struct ForwardModeTests {
  /// f(a, b) = Σ tanh(a·b) + sin(a), elementwise product, for a and b of shape [2, 3].
  static func f<Scalar>(_ x: [Variable<Scalar>]) -> Variable<Scalar> {
    (tanh(x[0] * x[1]) + sin(x[0])).sum()
  }

  @Test(
    "jvp is the directional derivative: Σ (∂f/∂a·da + ∂f/∂b·db), as reverse mode and finite differences give it"
  )
  func directionalDerivative() {
    var rng = SeededRandomNumberGenerator(seed: 11)
    let points = (0..<2).map { _ in
      Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
    }
    let tangents = (0..<2).map { _ in
      Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
    }
    let (value, tangent) = jvp(of: Self.f, at: points, tangents: tangents)
    let inputs = points.map { Variable($0, requiresGrad: true) }
    let reverse = gradients(of: Self.f(inputs), withRespectTo: inputs)
    let expected = zip(reverse, tangents).map { ($0.value * $1).sum().scalar }.reduce(0, +)
    #expect(value == Self.f(points.map { Variable($0) }).value)
    #expect(isClose(tangent.scalar, expected, relativeTolerance: 1e-12))
    let h = 1e-6
    let plus = Self.f(zip(points, tangents).map { Variable($0 + $1 * h) }).value.scalar
    let minus = Self.f(zip(points, tangents).map { Variable($0 - $1 * h) }).value.scalar
    #expect(isClose(tangent.scalar, (plus - minus) / (2 * h), relativeTolerance: 1e-7))
  }

  @Test("⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ for a function with a vector output, in Float and Double")
  func dotProductTest() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, tolerance: Scalar) {
      var rng = SeededRandomNumberGenerator(seed: 5)
      let w = Tensor<Scalar>(randomUniform: [3, 4], lowerBound: -1, upperBound: 1, using: &rng)
      let x = Tensor<Scalar>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
      let v = Tensor<Scalar>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
      let u = Tensor<Scalar>(randomUniform: [2, 4], lowerBound: -1, upperBound: 1, using: &rng)
      let g: (Variable<Scalar>) -> Variable<Scalar> = { softmax(matmul($0, Variable(w))) * $0.sum() }
      let jv = jvp(of: g, at: x, tangent: v).tangent
      let input = Variable(x, requiresGrad: true)
      let jtu = gradients(of: g(input), withRespectTo: [input], seed: u)[0].value
      #expect(isClose((u * jv).sum().scalar, (jtu * v).sum().scalar, relativeTolerance: tolerance))
    }
    check(Double.self, tolerance: 1e-12)
    check(Float.self, tolerance: 1e-4)
  }

  @Test("The jvp of a gradient is a Hessian-vector product (forward over reverse)")
  func forwardOverReverse() {
    let point = Tensor<Double>([0.3, -0.7, 1.1])
    let vector = Tensor<Double>([1, 2, -1])
    let loss: (Variable<Double>) -> Variable<Double> = { x in (x * x * x).sum() + (x[0] * x[1] * x[2]) }
    let hv = jvp(
      of: { x in gradients(of: loss(x), withRespectTo: [x], createGraph: true)[0] }, at: point,
      tangent: vector
    ).tangent
    #expect(isClose(hv, hessianVectorProduct(of: loss, at: point, vector: vector), absoluteTolerance: 1e-12))
  }

  @Test(
    "Inside withoutGradients, jvp records nothing: the same value and tangent, no variable requires a gradient"
  )
  func jvpWithoutGradients() {
    var rng = SeededRandomNumberGenerator(seed: 12)
    let points = (0..<2).map { _ in
      Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
    }
    let tangents = (0..<2).map { _ in
      Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
    }
    let taped = jvp(of: Self.f, at: points, tangents: tangents)
    var recorded = [Bool]()
    let untaped = withoutGradients {
      jvp(
        of: { inputs in
          let output = Self.f(inputs)
          recorded = inputs.map(\.requiresGrad) + [output.requiresGrad]
          return output
        }, at: points, tangents: tangents)
    }
    #expect(recorded == [false, false, false])
    #expect(untaped.value == taped.value)
    #expect(untaped.tangent == taped.tangent)
    countingLiveVariables { counter in
      withoutGradients {
        _ = jvp(
          of: { x in (0..<20).reduce(x) { h, _ in tanh(h * 1.1) }.sum() }, at: points[0], tangent: tangents[0]
        )
      }
      #expect(counter.count == 0)
    }
  }

  @Test("Forward and reverse Jacobians agree; automatic picks forward for fewer inputs than outputs")
  func jacobianModes() {
    let point = Tensor<Double>([0.5, -1.5])
    // Two inputs, six outputs: [x0·x1, sin x0, x1², x0 + x1, tanh x0, x0³].
    let widen: (Variable<Double>) -> Variable<Double> = { x in
      let (a, b) = (x[0], x[1])
      return stack([a * b, sin(a), b * b, a + b, tanh(a), a * a * a], alongAxis: 0)
    }
    let forward = jacobian(of: widen, at: point, mode: .forward)
    let reverse = jacobian(of: widen, at: point, mode: .reverse)
    #expect(forward.shape == [6, 2])
    #expect(isClose(forward, reverse, absoluteTolerance: 1e-14))
    #expect(jacobian(of: widen, at: point) == forward)
    let softmaxJacobian = jacobian(of: { softmax($0) }, at: Tensor<Double>([1, 2, 3]), mode: .forward)
    #expect(
      isClose(
        softmaxJacobian, jacobian(of: { softmax($0) }, at: Tensor<Double>([1, 2, 3])),
        absoluteTolerance: 1e-15))
  }

  /// z = x², with a pullback that is wrong by 5 %.
  struct WrongSquare: DifferentiableOperation {
    typealias Scalar = Double
    var name: String { "wrong square" }
    func pullback<G: GradientAlgebra<Double>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
      -> Operands<G?>
    {
      Operands(g * inputs[0] * 2.1)
    }
  }

  @Test("checkForwardGradients passes the catalogue's kind of function and catches a wrong derivative")
  func forwardGradientCheck() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let points = (0..<2).map { _ in
      Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng)
    }
    let scalar = checkForwardGradients(at: points, Self.f)
    #expect(scalar.passed && scalar.elementCount == 12, "\(scalar)")
    let vector = checkForwardGradients(at: points) { x in softmax(matmul(x[0], x[1].transposed())) }
    #expect(vector.passed && vector.elementCount == 12 * 4, "\(vector)")
    let wrong = checkForwardGradients(at: [Tensor<Double>([0.5, -1])]) { x in
      Variable.record(WrongSquare(), Operands(x[0]), value: x[0].value * x[0].value).sum()
    }
    #expect(!wrong.passed && wrong.worst!.input == 0)
    #expect(isClose(wrong.worst!.analytic, 1.05 * wrong.worst!.numeric, relativeTolerance: 1e-6))
  }

  @Test(
    "Tangents that do not fit their points, and functions that ignore their inputs, stop with the call and the shapes"
  )
  func badInput() async {
    let shape = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = jvp(of: { $0.sum() }, at: Tensor<Double>([1, 2]), tangent: Tensor<Double>([1, 2, 3]))
    }
    let shapeMessage = String(decoding: shape?.standardErrorContent ?? [], as: UTF8.self)
    #expect(shapeMessage.contains("jvp(of:at:tangent:): tangent 0 has shape [3], its point has shape [2]"))
    let count = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = jvp(of: { $0[0].sum() }, at: [Tensor<Double>([1, 2])], tangents: [])
    }
    let countMessage = String(decoding: count?.standardErrorContent ?? [], as: UTF8.self)
    #expect(countMessage.contains("jvp(of:at:tangents:): 0 tangents for 1 points"))
    let constant = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = jacobian(of: { _ in Variable(Tensor<Double>([1, 2, 3])) }, at: Tensor<Double>([1]), mode: .forward)
    }
    let constantMessage = String(decoding: constant?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      constantMessage.contains(
        "jacobian(of:at:mode: .forward): the function returned a constant of shape [3]"))
  }

  @Test("Dual variables: tangents flow with the values, nil where no input carries one")
  func dualVariables() {
    let x = Variable(Tensor<Double>([0.5, 1.5]), tangent: Tensor([1, -2]))
    let c = Variable(Tensor<Double>([3, 4]))
    let y = (sin(x) * c).sum()
    // d/dε Σ sin(x + εv)·c = Σ cos(x)·v·c.
    let expected = (x.value.cos() * Tensor([1, -2]) * c.value).sum()
    #expect(isClose(y.tangent!.value, expected, relativeTolerance: 1e-12))
    #expect(x.tangent!.value == Tensor([1, -2]))
    #expect(c.tangent == nil && (c * c).tangent == nil)
    #expect(!y.requiresGrad && !y.tangent!.requiresGrad)
  }

  @Test("A constant tangent outlives the variable of its intermediate: forward over reverse through a chain")
  func tangentsOfIntermediates() {
    // The intermediates' variables die as soon as the next operation is recorded; the backward
    // pass recorded afterwards reads them again, tangents included.
    let point = Tensor<Double>([0.3, -0.7])
    let direction = Tensor<Double>([1, 0.5])
    let (_, hv) = jvp(
      of: { x in gradients(of: exp(sin(x * x)).sum(), withRespectTo: [x], createGraph: true)[0] },
      at: point, tangent: direction)
    let expected = hessianVectorProduct(of: { exp(sin($0 * $0)).sum() }, at: point, vector: direction)
    #expect(isClose(hv, expected, relativeTolerance: 1e-10))
  }

  @Test("Reverse over forward: a recorded tangent differentiates, y.tangent!.backward()")
  func reverseOverForward() {
    let x = Variable(Tensor<Double>([0.5, 1.5]), tangent: Tensor([1, 0]), requiresGrad: true)
    let y = (sin(x) * exp(x)).sum()
    let tangent = y.tangent!
    #expect(tangent.requiresGrad)
    tangent.backward()
    // ∂/∂x₀ of (cos x₀ + sin x₀)·e^x₀ = 2 cos x₀ · e^x₀; x₁ has no direction.
    let x0 = 0.5
    #expect(
      isClose(x.grad!, Tensor([2 * Foundation.cos(x0) * Foundation.exp(x0), 0]), relativeTolerance: 1e-12))
  }

  /// z = x³ with a pullback only: forward mode transposes it.
  struct Cube: DifferentiableOperation {
    typealias Scalar = Double
    var name: String { "cube" }
    func pullback<G: GradientAlgebra<Double>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
      -> Operands<G?>
    {
      Operands(g * inputs[0] * inputs[0] * 3)
    }
  }

  /// z = x³ with a pullback on tensors only (first order).
  struct FirstOrderCube: FirstOrderOperation {
    typealias Scalar = Double
    var name: String { "first-order cube" }
    func pullback(_ upstream: Tensor<Double>, inputs: [Tensor<Double>], output: Tensor<Double>)
      -> [Tensor<Double>?]
    {
      [upstream * inputs[0] * inputs[0] * 3]
    }
  }

  @Test("Operations without a tangent rule work in forward mode, by transposing their pullbacks")
  func customOperationsWithoutTangentRules() {
    let point = Tensor<Double>([0.5, -2])
    let direction = Tensor<Double>([1, 3])
    let expected = point * point * direction * 3
    for operation in [AnyCube.higherOrder, .firstOrder] {
      let x = Variable(point, tangent: direction)
      let y = operation.apply(x)
      #expect(isClose(y.tangent!.value, expected, relativeTolerance: 1e-12), "\(operation)")
    }
    // Recorded tangents of the transposed pullback differentiate too: ∂/∂x (3x²·v) = 6x·v.
    let x = Variable(point, tangent: direction, requiresGrad: true)
    AnyCube.higherOrder.apply(x).tangent!.sum().backward()
    #expect(isClose(x.grad!, point * direction * 6, relativeTolerance: 1e-12))
  }

  enum AnyCube {
    case higherOrder, firstOrder
    func apply(_ x: Variable<Double>) -> Variable<Double> {
      let value = x.value * x.value * x.value
      switch self {
      case .higherOrder: return Variable.record(Cube(), Operands(x), value: value)
      case .firstOrder: return Variable.record(FirstOrderCube(), Operands(x), value: value)
      }
    }
  }

  @Test("Bad duals stop with a message: a tangent of another shape, a NaN tangent in anomaly mode")
  func badDuals() async {
    let shape = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Variable(Tensor<Double>([1, 2]), tangent: Tensor<Double>([1, 2, 3]))
    }
    let shapeMessage = String(decoding: shape?.standardErrorContent ?? [], as: UTF8.self)
    #expect(shapeMessage.contains("Variable(_:tangent:): the tangent has shape [3], the value has shape [2]"))
    let anomaly = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      withAnomalyDetection {
        _ = sqrt(Variable(Tensor<Double>([0, 1]), tangent: Tensor<Double>([1, 1])))
      }
    }
    let anomalyMessage = String(decoding: anomaly?.standardErrorContent ?? [], as: UTF8.self)
    #expect(anomalyMessage.contains("tangent of sqrt produced a non-finite value, shape [2]"))
    let firstOrder = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Variable(Tensor<Double>([1, 2]), tangent: Tensor<Double>([1, 1]), requiresGrad: true)
      _ = AnyCube.firstOrder.apply(x)
    }
    let firstOrderMessage = String(decoding: firstOrder?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      firstOrderMessage.contains("first-order cube: a first-order operation's tangent cannot be recorded"))
  }

  /// z = eˣ with a pullback only, which reads the output.
  struct OutputReadingExp: DifferentiableOperation {
    typealias Scalar = Double
    var name: String { "output-reading exp" }
    func pullback<G: GradientAlgebra<Double>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
      -> Operands<G?>
    {
      Operands(g * output)
    }
  }

  @Test("Tangents free with their nodes: constant and recorded ones, and one that reads its own output")
  func tangentsAreFreed() async {
    countingLiveVariables { counter in
      do {
        let x = Variable(Tensor<Double>([0.3, -0.2]), tangent: Tensor([1, 2]), requiresGrad: true)
        var h = x
        for _ in 0..<5 { h = tanh(exp(h) * 0.5) }
        let g = gradients(of: h.sum(), withRespectTo: [x], createGraph: true)[0]
        g.tangent!.sum().backward()
        #expect(x.grad != nil)
        let (_, jv) = jvp(of: { tanh(exp($0) * 0.5).sum() }, at: x.value, tangent: Tensor([1, 2]))
        #expect(jv.shape == [])
      }
      #expect(counter.count == 0)
      do {
        // A recorded tangent that reads its own node is kept by its variable while it lives.
        let x = Variable(Tensor<Double>([0.5]), tangent: Tensor([1]), requiresGrad: true)
        let y = Variable.record(OutputReadingExp(), Operands(x), value: x.value.exp())
        #expect(isClose(y.tangent!.value, x.value.exp(), relativeTolerance: 1e-12))
        y.tangent!.sum().backward()
        #expect(isClose(x.grad!, x.value.exp(), relativeTolerance: 1e-12))
      }
      #expect(counter.count == 0)
    }
    let dead = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Variable(Tensor<Double>([0.5]), tangent: Tensor([1]), requiresGrad: true)
      let z = Variable.record(OutputReadingExp(), Operands(x), value: x.value.exp()) * 2
      // The backward pass reads the custom result again, after its variable died.
      _ = gradients(of: z.sum(), withRespectTo: [x], createGraph: true)
    }
    let message = String(decoding: dead?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("had a recorded tangent that read its own output"))
  }
}
