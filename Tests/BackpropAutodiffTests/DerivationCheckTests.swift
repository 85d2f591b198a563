import Backprop
import BackpropTestSupport
import Testing

@Suite("checkDerivation: hand versus tape versus finite differences")
struct DerivationCheckTests {
  let w = Variable(Tensor<Double>([[0.1, 0.2], [0.3, 0.4]]), requiresGrad: true)
  let x = Tensor<Double>([[1, 2]])

  /// J = ½ Σ (xW)².
  func loss(_ probe: DerivationProbe<Double>) -> Variable<Double> {
    squaredError(predicted: probe("xW", matmul(Variable(x), w)), target: Tensor(zeros: [1, 2]))
  }

  @Test("A correct derivation passes, and the check leaves the variables as they were")
  func correct() {
    // dJ/d(xW) = xW; dJ/dW = xᵀ(xW).
    let xw = matmul(x, w.value)
    let report = checkDerivation(
      [
        HandGradient("dJ/dW", of: w, equals: matmul(x, xw, transposeA: true)),
        HandGradient("dJ/d(xW)", atProbe: "xW", equals: xw),
      ], loss: loss)
    #expect(report.passed, "\(report)")
    #expect(report.elements.count == 6)
    #expect(report.elements.map(\.name) == ["dJ/dW", "dJ/dW", "dJ/dW", "dJ/dW", "dJ/d(xW)", "dJ/d(xW)"])
    #expect(report.elements[3].index == [1, 1])
    #expect(report.largestHandTapeDifference < 1e-15)
    #expect(w.grad == nil)  // the check does not touch grad
    #expect(w.value == Tensor([[0.1, 0.2], [0.3, 0.4]]))  // perturbations are undone
  }

  @Test("A wrong element is reported with its name, index, hand and tape values")
  func wrong() {
    var hand = matmul(x, matmul(x, w.value), transposeA: true)
    hand.scalars[1] += 0.5  // the slip a learner might make
    let report = checkDerivation([HandGradient("dJ/dW", of: w, equals: hand)], loss: loss)
    #expect(!report.passed)
    #expect(report.mismatches.count == 1)
    let bad = report.mismatches[0]
    #expect(bad.index == [0, 1] && !bad.handMatchesTape && bad.tapeMatchesNumeric)
    #expect(isClose(bad.tape, 1.0) && isClose(bad.hand, 1.5))
    #expect(String(describing: report).contains("✗ dJ/dW [0, 1]: hand 1.5, tape 1.0"))
  }

  @Test("A tape that disagrees with finite differences is caught too")
  func nonSmooth() {
    // |v| at v = 1e-7, closer to the kink than ε = 1e-6: hand and tape say 1, finite differences
    // say 0.1. The report says which comparison failed.
    let v = Variable(Tensor<Double>([1e-7]), requiresGrad: true)
    let report = checkDerivation([HandGradient("d|v|/dv", of: v, equals: Tensor([1]))]) { _ in abs(v).sum() }
    #expect(!report.passed)
    #expect(report.mismatches.first?.handMatchesTape == true)
    #expect(report.mismatches.first?.tapeMatchesNumeric == false)
  }
}
