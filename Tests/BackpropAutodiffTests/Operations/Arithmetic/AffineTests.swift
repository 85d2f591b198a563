import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropAutodiff

@Suite("Affine")
struct AffineTests {
  @Test("x·W + b as one node: the bits of the two operations, value and gradients, Float and Double")
  func matchesTheTwoSteps() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, rows: Int, k: Int, n: Int, inputNeedsGradient: Bool) {
      var rng = SeededRandomNumberGenerator(seed: 22)
      let x = Variable(
        Tensor<Scalar>(randomUniform: [rows, k], lowerBound: -1, upperBound: 1, using: &rng),
        requiresGrad: inputNeedsGradient)
      let w = Variable(
        Tensor<Scalar>(randomUniform: [k, n], lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true)
      let b = Variable(
        Tensor<Scalar>(randomUniform: [n], lowerBound: -0.5, upperBound: 0.5, using: &rng), requiresGrad: true
      )
      let g = Tensor<Scalar>(randomUniform: [rows, n], lowerBound: -1, upperBound: 1, using: &rng)
      let context = "\(Scalar.self) \(rows)×\(k)·\(k)×\(n), x needs gradient: \(inputNeedsGradient)"
      let fused = affine(x, w, bias: b)
      (fused * g).sum().backward()
      let gradients = [x, w, b].map(\.grad)
      for variable in [x, w, b] { variable.zeroGrad() }
      let separate = matmul(x, w) + b
      (separate * g).sum().backward()
      #expect(fused.value == separate.value, "\(context)")
      #expect(gradients == [x, w, b].map(\.grad), "\(context)")
    }
    for (rows, k, n) in [(7, 5, 3), (1, 4, 6), (130, 9, 33)] {
      for inputNeedsGradient in [true, false] {
        check(Float.self, rows: rows, k: k, n: n, inputNeedsGradient: inputNeedsGradient)
        check(Double.self, rows: rows, k: k, n: n, inputNeedsGradient: inputNeedsGradient)
      }
    }
  }

  @Test("Pictures and traces show the product and the sum; the recorded node is one")
  func shownAsTwoSteps() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let x = Variable(Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng))
    let w = Variable(
      Tensor<Double>(randomUniform: [3, 4], lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true)
    let b = Variable(Tensor<Double>(ones: [4]), requiresGrad: true)
    let y = affine(x, w, bias: b).sum()
    #expect(y.graphNodes().compactMap { $0.operation?.name } == ["matmul → +", "sum"])
    let (shown, nodes) = y.shownGraph()
    #expect(nodes.compactMap { $0.operation?.name } == ["matmul", "+", "sum"])
    #expect(shown.value == y.value)
    #expect(!y.graphviz().contains("→"))
  }

  @Test("Second derivatives and tangents through the one node equal those through the two steps")
  func higherOrderAndForwardMode() {
    expectSameSecondOrderAndTangents(
      fused: { affine($0, $1, bias: $2) }, separate: { matmul($0, $1) + $2 }, seed: 6)
  }
}

/// Expects the second derivatives (reverse over reverse, of a loss through tanh) and the tangents
/// (each input's alone, and all three) of `fused`, one node for a dense layer's steps, to be the
/// bits of those of `separate`, the steps recorded apart, at random x `[4, 3]`, W `[3, 5]` and
/// b `[5]`.
func expectSameSecondOrderAndTangents(
  fused: (Variable<Double>, Variable<Double>, Variable<Double>) -> Variable<Double>,
  separate: (Variable<Double>, Variable<Double>, Variable<Double>) -> Variable<Double>,
  seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation
) {
  var rng = SeededRandomNumberGenerator(seed: seed)
  func parameter(_ shape: [Int]) -> Variable<Double> {
    Variable(
      Tensor<Double>(randomUniform: shape, lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true)
  }
  let (x, w, b) = (parameter([4, 3]), parameter([3, 5]), parameter([5]))
  func secondOrder(_ f: (Variable<Double>, Variable<Double>, Variable<Double>) -> Variable<Double>)
    -> [Tensor<Double>]
  {
    let y = tanh(f(x, w, b))
    let first = gradients(of: (y * y).sum(), withRespectTo: [x, w, b], createGraph: true)
    let outer = (first[0] * first[0]).sum() + first[1].sum() + (first[2] * first[2]).sum()
    return gradients(of: outer, withRespectTo: [x, w, b]).map(\.value)
  }
  #expect(secondOrder(fused) == secondOrder(separate), sourceLocation: sourceLocation)
  let tangents = [[4, 3], [3, 5], [5]].map {
    Tensor<Double>(randomUniform: $0, lowerBound: -1, upperBound: 1, using: &rng)
  }
  func tangent(_ f: (Variable<Double>, Variable<Double>, Variable<Double>) -> Variable<Double>, only: Int?)
    -> Tensor<Double>?
  {
    let duals = zip([x, w, b], tangents.indices).map { variable, k in
      only == nil || only == k ? Variable(variable.value, tangent: tangents[k]) : Variable(variable.value)
    }
    return f(duals[0], duals[1], duals[2]).tangent?.value
  }
  for only in [nil, 0, 1, 2] {
    #expect(
      tangent(fused, only: only) == tangent(separate, only: only),
      "tangent of input \(only.map(String.init) ?? "all")", sourceLocation: sourceLocation)
  }
}
