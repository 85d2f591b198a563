import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropAutodiff

@Suite("Rectified affine")
struct RectifiedAffineTests {
  @Test("relu(x·W + b) as one node: the bits of the three operations, value and gradients, Float and Double")
  func matchesTheThreeSteps() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, rows: Int, k: Int, n: Int, inputNeedsGradient: Bool) {
      var rng = SeededRandomNumberGenerator(seed: 21)
      let x = Variable(
        Tensor<Scalar>(randomUniform: [rows, k], lowerBound: -1, upperBound: 1, using: &rng),
        requiresGrad: inputNeedsGradient)
      let w = Variable(
        Tensor<Scalar>(randomUniform: [k, n], lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true)
      let b = Variable(
        Tensor<Scalar>(randomUniform: [n], lowerBound: -0.5, upperBound: 0.5, using: &rng), requiresGrad: true
      )
      let g = Tensor<Scalar>(randomUniform: [rows, n], lowerBound: -1, upperBound: 1, using: &rng)
      for bias in [nil, b] {
        let context =
          "\(Scalar.self) \(rows)×\(k)·\(k)×\(n), bias: \(bias != nil), x needs gradient: \(inputNeedsGradient)"
        let fused = rectifiedAffine(x, w, bias: bias)
        (fused * g).sum().backward()
        let gradients = [x, w, b].map(\.grad)
        for variable in [x, w, b] { variable.zeroGrad() }
        let separate = relu(bias.map { matmul(x, w) + $0 } ?? matmul(x, w))
        (separate * g).sum().backward()
        #expect(fused.value == separate.value, "\(context)")
        #expect(gradients == [x, w, b].map(\.grad), "\(context)")
        #expect(fused.value.scalars.contains(0) && fused.value.scalars.contains { $0 > 0 }, "\(context)")
        for variable in [x, w, b] { variable.zeroGrad() }
      }
    }
    // A small layer, one row, and one of 2¹⁸ or more outputs, whose passes split across threads.
    for (rows, k, n) in [(7, 5, 3), (1, 4, 6), (520, 9, 512)] {
      for inputNeedsGradient in [true, false] {
        check(Float.self, rows: rows, k: k, n: n, inputNeedsGradient: inputNeedsGradient)
        check(Double.self, rows: rows, k: k, n: n, inputNeedsGradient: inputNeedsGradient)
      }
    }
  }

  @Test("Pictures and traces show the product, the sum and the ReLU; the recorded node is one")
  func shownAsThreeSteps() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let x = Variable(Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng))
    let w = Variable(
      Tensor<Double>(randomUniform: [3, 4], lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true)
    let b = Variable(Tensor<Double>(zeros: [4]), requiresGrad: true)
    let y = rectifiedAffine(x, w, bias: b).sum()
    #expect(y.graphNodes().compactMap { $0.operation?.name } == ["matmul → + → relu", "sum"])
    let (shown, nodes) = y.shownGraph()
    #expect(nodes.compactMap { $0.operation?.name } == ["matmul", "+", "relu", "sum"])
    #expect(shown.value == y.value)
    #expect(!y.graphviz().contains("→ relu"))
    #expect(y.graphviz().contains("matmul") && y.graphviz().contains("relu"))
  }

  @Test("Second derivatives and tangents through the one node equal those through the three steps")
  func higherOrderAndForwardMode() {
    expectSameSecondOrderAndTangents(
      fused: { rectifiedAffine($0, $1, bias: $2) }, separate: { relu(matmul($0, $1) + $2) }, seed: 5)
  }
}
