import ArticleExamples
import Backprop
import BackpropTestSupport
import Testing

/// Rohan & Lenny #1, "Neural Networks & The Backpropagation Algorithm, Explained".
@Suite("Article: Rohan & Lenny")
struct RohanLennyTests {
  @Test("sigmoid′ = S(1 − S) and dJ/dp = p − a against the tape", arguments: [0, 1, 2] as [UInt64])
  func elementaryDerivatives(seed: UInt64) {
    let report = RohanLennyArticle.checkElementaryDerivatives(seed: seed)
    #expect(report.passed, "\(report)")
    #expect(report.elements.count == 50)
  }

  @Test("dJ/dW1 from the nested-sum formula, dJ/dW2 and dJ/dW3 from the chain rule, for random networks")
  func networkGradients() {
    for seed: UInt64 in 0..<20 {
      let report = RohanLennyArticle.checkNetworkGradients(seed: seed)
      #expect(report.passed, "seed \(seed): \(report)")
      #expect(report.elements.count == 9 + 9 + 3)
    }
  }

  @Test("W := W − α dJ/dW and V := μV − α dJ/dW, W := W + V equal SGD and Momentum step for step")
  func updateRules() {
    #expect(RohanLennyArticle.compareUpdateRule(momentum: nil, seed: 3, steps: 30) < 1e-12)
    #expect(RohanLennyArticle.compareUpdateRule(momentum: 0.9, seed: 3, steps: 30) < 1e-12)
  }

  @Test("He initialisation: mean 0 and variance 2/size_in within 3% (fixed seed)")
  func heInitialisation() {
    let (mean, variance) = RohanLennyArticle.heVariance(sizeIn: 256, sizeOut: 400, seed: 9)
    #expect(abs(mean) < 0.002)
    #expect(abs(variance / (2.0 / 256) - 1) < 0.03)
  }

  @Test("The ReLULayer API on the tape: backward returns the hand-derived gradients")
  func reluLayerBackward() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let layer = RohanLennyArticle.ReLULayer(sizeIn: 3, sizeOut: 2, using: &rng)
    let input: Tensor<Double> = [[0.5, -1, 2]]
    let out = layer.forward(input)
    let outGrad: Tensor<Double> = [[0.3, -0.7]]
    let inputGrad = layer.backward(outGrad)
    // By hand: G = outGrad ⊙ relu′(in·W); dW = inᵀG; d(in) = G·Wᵀ.
    let pre = matmul(input, layer.weights.value)
    let g = outGrad * pre.map { $0 > 0 ? 1 : 0 }
    #expect(out == pre.relu())
    #expect(isClose(layer.weightGradient!, matmul(input, g, transposeA: true)))
    #expect(isClose(inputGrad, matmul(g, layer.weights.value, transposeB: true)))
    let before = layer.weights.value
    layer.update(alpha: 0.1)
    #expect(isClose(layer.weights.value, before - layer.weightGradient! * 0.1))
  }

  @Test("ReLULayers trained with forward/backward/update learn a small regression")
  func reluLayersLearn() {
    let losses = RohanLennyArticle.trainReLULayers(seed: 1, epochs: 300)
    #expect(losses.last! < 0.001)
    #expect(losses.last! < losses.first! / 100)
  }

  @Test("The gradient check the article recommends passes for its network", arguments: [0, 1, 2] as [UInt64])
  func gradientCheck(seed: UInt64) {
    let report = RohanLennyArticle.gradientCheck(seed: seed)
    #expect(report.passed, "\(report)")
  }

  @Test("The example runs and every verification row passes")
  func example() {
    let rows = RohanLennyArticle.run(output: .discard)
    #expect(rows.count == 10)
    for row in rows {
      #expect(row.passed, "\(row.claim): hand \(row.hand), tape \(row.tape)\n\(row.details)")
    }
  }
}
