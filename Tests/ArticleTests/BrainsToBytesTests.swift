import ArticleExamples
import Backprop
import BackpropTestSupport
import Testing

/// BrainsToBytes, "Deep Learning Basics (8): Intermediate layers and backpropagation".
@Suite("Article: BrainsToBytes")
struct BrainsToBytesTests {
  @Test(
    "Without a hidden layer the up/down data is never learnt: error ≥ 1 (the least-squares floor) every run")
  func noHiddenLayer() {
    for seed: UInt64 in 0..<3 {
      let errors = BrainsToBytesArticle.trainWithoutHiddenLayer(seed: seed, runs: 300)
      #expect(errors.allSatisfy { $0 >= 1 - 1e-9 }, "seed \(seed): smallest \(errors.min()!)")
    }
  }

  @Test("The hand step follows the article's NumPy code on a worked sample")
  func handStep() {
    let step = BrainsToBytesArticle.handStep(
      input: [1, 0, 1], expected: 1, weights1: [[1, -1, 0.5, 0], [2, 2, 2, 2], [0.5, 0.5, -1, 1]],
      weights2: [1, 2, 3, 4])
    #expect(step.hidden == [1.5, 0, 0, 1])  // relu([1.5, −0.5, −0.5, 1])
    #expect(step.prediction == 5.5)  // 1.5·1 + 1·4
    #expect(step.layer2Delta == 4.5)
    #expect(step.layer1Delta == [4.5, 0, 0, 18])  // w2·δ2·relu′
    #expect(step.weights2Adjustment == [6.75, 0, 0, 4.5])
    #expect(step.weights1Adjustment == [[4.5, 0, 0, 18], [0, 0, 0, 0], [4.5, 0, 0, 18]])
  }

  @Test("The 3-4-1 ReLU network reaches the article's error 0, and every sample's deltas equal the tape's")
  func deltasForAWholeRun() {
    let network = BrainsToBytesArticle.Network(seed: 2)
    let run = BrainsToBytesArticle.train(network, maxRuns: 1000)
    #expect(run.convergedAt != nil)
    #expect(run.errors.last == 0)
    #expect(run.checks.count == 4 * run.errors.count)
    for (sample, report) in run.checks.enumerated() {
      #expect(report.passed, "sample \(sample): \(report)")
    }
    // SGD on the tape applies exactly the article's W −= α·adjustment.
    #expect(run.largestUpdateDifference < 1e-12)
  }

  @Test("The deltas equal the tape for other initial weights too", arguments: [3, 4, 5] as [UInt64])
  func deltasOtherSeeds(seed: UInt64) {
    let network = BrainsToBytesArticle.Network(seed: seed)
    for (input, expected) in zip(BrainsToBytesArticle.inputs, BrainsToBytesArticle.expectedValues) {
      let report = BrainsToBytesArticle.checkStep(network, input: input, expected: expected)
      #expect(report.passed, "\(report)")
    }
  }

  @Test("Two stacked linear layers equal Output = I1(W1W5+W3W6) + I2(W2W5+W4W6), values and gradients")
  func linearity() {
    for seed: UInt64 in 0..<5 {
      let check = BrainsToBytesArticle.checkLinearity(seed: seed)
      #expect(isClose(check.tape, check.formula, absoluteTolerance: 1e-14))
      #expect(check.report.passed, "\(check.report)")
    }
  }

  @Test("The example runs and every verification row passes")
  func example() {
    let rows = BrainsToBytesArticle.run(output: .discard)
    #expect(rows.count == 11)
    for row in rows {
      #expect(row.passed, "\(row.claim): hand \(row.hand), tape \(row.tape)\n\(row.details)")
    }
  }
}
