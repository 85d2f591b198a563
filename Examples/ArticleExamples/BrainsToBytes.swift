import Backprop

/// BrainsToBytes, *Deep Learning Basics (8): Intermediate layers and backpropagation*.
///
/// The up/down dataset that a network without a hidden layer cannot learn; the 3-4-1 ReLU
/// network trained per sample with the article's hand-written deltas; and why stacked linear
/// layers collapse into one.
public enum BrainsToBytesArticle {
  static let article = "BrainsToBytes"

  /// The up/down dataset; inputs and expected values in corresponding order.
  public static let inputs: [[Double]] = [[1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 1, 1]]
  /// The expected value of each input.
  public static let expectedValues: [Double] = [1, 0, 1, 0]
  /// The article's learning rate.
  public static let alpha = 0.1

  /// One step of the article's NumPy code for one sample, in plain Swift arrays: the
  /// derivation by hand.
  public struct HandStep: Sendable {
    /// relu(input · weights_1).
    public var hidden: [Double]
    /// hidden · weights_2 — the exact prediction (the article rounds it; see ``run(seed:maxRuns:output:)``).
    public var prediction: Double
    /// layer2_delta = prediction − expected.
    public var layer2Delta: Double
    /// layer1_delta = (weights_2 · layer2_delta) · relu′(hidden).
    public var layer1Delta: [Double]
    /// hidden · layer2_delta, subtracted (times α) from weights_2.
    public var weights2Adjustment: [Double]
    /// outer(input, layer1_delta), subtracted (times α) from weights_1.
    public var weights1Adjustment: [[Double]]
  }

  /// The article's forward pass, deltas and adjustments for one sample.
  ///
  /// - Parameters:
  ///   - input: Three inputs.
  ///   - expected: The expected value.
  ///   - weights1: `[3][4]`, input to hidden.
  ///   - weights2: `[4]`, hidden to output.
  public static func handStep(
    input: [Double], expected: Double, weights1: [[Double]], weights2: [Double]
  ) -> HandStep {
    let hiddenCount = weights2.count
    let preActivation = (0..<hiddenCount).map { j in
      input.indices.reduce(0.0) { $0 + input[$1] * weights1[$1][j] }
    }
    let hidden = preActivation.map { $0 > 0 ? $0 : 0 }  // relu(x) = (x > 0) * x
    let prediction = zip(hidden, weights2).reduce(0.0) { $0 + $1.0 * $1.1 }
    let layer2Delta = prediction - expected
    let reluDerivative = hidden.map { $0 > 0 ? 1.0 : 0.0 }  // relu_deriv(output) = output > 0
    let layer1Delta = (0..<hiddenCount).map { weights2[$0] * layer2Delta * reluDerivative[$0] }
    return HandStep(
      hidden: hidden, prediction: prediction, layer2Delta: layer2Delta, layer1Delta: layer1Delta,
      weights2Adjustment: hidden.map { $0 * layer2Delta },
      weights1Adjustment: input.map { x in layer1Delta.map { x * $0 } })
  }

  /// The 3-4-1 ReLU network on the tape: prediction = relu(x·W1)·W2, no biases, as in the article.
  public final class Network {
    /// weights_1, `[3, 4]`.
    public let weights1: Variable<Double>
    /// weights_2, `[4, 1]` (the article's vector of 4 as a column).
    public let weights2: Variable<Double>

    /// Weights drawn uniformly from [0, 1) like NumPy's `random.random`, from a seeded generator.
    public init(seed: UInt64, hiddenCount: Int = 4) {
      var rng = SeededRandomNumberGenerator(seed: seed)
      weights1 = Variable(
        Initializer.uniformUnit.weights(fanIn: 3, fanOut: hiddenCount, using: &rng), requiresGrad: true,
        name: "weights_1")
      weights2 = Variable(
        Initializer.uniformUnit.weights(fanIn: hiddenCount, fanOut: 1, using: &rng), requiresGrad: true,
        name: "weights_2")
    }

    /// J = ½(prediction − expected)² for one sample. `mark` sees the hidden pre-activation and
    /// the prediction (a ``DerivationProbe`` in checks).
    public func loss(
      input: [Double], expected: Double,
      mark: (String, Variable<Double>) -> Variable<Double> = { $1 }
    ) -> Variable<Double> {
      let x = Variable(matrix([input]))
      let hidden = relu(mark("hidden pre-activation", matmul(x, weights1)))
      let prediction = mark("prediction", matmul(hidden, weights2))
      return squaredError(predicted: prediction, target: Tensor(expected).reshaped(to: [1, 1]))
    }

    /// The weights as the article's arrays.
    public var handWeights: (weights1: [[Double]], weights2: [Double]) {
      let w1 = weights1.value
      return (
        (0..<w1.shape[0]).map { i in (0..<w1.shape[1]).map { w1[scalarAt: [i, $0]] } }, weights2.value.scalars
      )
    }
  }

  /// Checks the article's deltas and adjustments for one sample against the tape (and the tape
  /// against finite differences) at the network's current weights.
  public static func checkStep(_ network: Network, input: [Double], expected: Double) -> DerivationReport<
    Double
  > {
    let (w1, w2) = network.handWeights
    let hand = handStep(input: input, expected: expected, weights1: w1, weights2: w2)
    return checkDerivation(
      [
        HandGradient("layer2_delta", atProbe: "prediction", equals: matrix([[hand.layer2Delta]])),
        HandGradient("layer1_delta", atProbe: "hidden pre-activation", equals: matrix([hand.layer1Delta])),
        HandGradient(
          "weights_2 adjustment", of: network.weights2,
          equals: Tensor(hand.weights2Adjustment).reshaped(to: [w2.count, 1])),
        HandGradient("weights_1 adjustment", of: network.weights1, equals: matrix(hand.weights1Adjustment)),
      ]
    ) { probe in network.loss(input: input, expected: expected, mark: probe.callAsFunction) }
  }

  /// What a training run of the 3-4-1 network found.
  public struct TrainingRun {
    /// The run (epoch) whose rounded error was 0, or `nil` if `maxRuns` passed first.
    public var convergedAt: Int?
    /// The article's error per run: Σ (round(prediction, 1) − expected)².
    public var errors: [Double] = []
    /// Every sample's check of the deltas and adjustments, in training order.
    public var checks: [DerivationReport<Double>] = []
    /// The largest difference between the tape-trained weights and the weights updated by the
    /// article's rule W −= α·adjustment by hand, over the whole run.
    public var largestUpdateDifference = 0.0
  }

  /// Trains the 3-4-1 network per sample with SGD on the tape until the article's rounded error
  /// is 0, checking every sample's hand step against the tape.
  public static func train(
    _ network: Network, maxRuns: Int, output: ExampleOutput = .discard, printRuns: Set<Int> = []
  ) -> TrainingRun {
    let sgd = SGD(parameters: [network.weights1, network.weights2], learningRate: alpha)
    var (handW1, handW2) = network.handWeights
    var result = TrainingRun()
    for run in 1...maxRuns {
      var error = 0.0
      for (input, expected) in zip(inputs, expectedValues) {
        result.checks.append(checkStep(network, input: input, expected: expected))
        let hand = handStep(input: input, expected: expected, weights1: handW1, weights2: handW2)
        sgd.zeroGrad()
        network.loss(input: input, expected: expected).backward()
        sgd.step()
        for j in handW2.indices { handW2[j] -= alpha * hand.weights2Adjustment[j] }
        for i in handW1.indices {
          for j in handW1[i].indices { handW1[i][j] -= alpha * hand.weights1Adjustment[i][j] }
        }
        let rounded = (hand.prediction * 10).rounded() / 10
        error += (rounded - expected) * (rounded - expected)
      }
      let (w1, w2) = network.handWeights
      for (a, b) in zip(w1.joined(), handW1.joined()) {
        result.largestUpdateDifference = max(result.largestUpdateDifference, abs(a - b))
      }
      for (a, b) in zip(w2, handW2) {
        result.largestUpdateDifference = max(result.largestUpdateDifference, abs(a - b))
      }
      result.errors.append(error)
      if printRuns.contains(run) || error == 0 {
        output("The weights in the final layer are:\n\(format(w2))")
        output("The weights in the first layer are:\n\(w1.map(format).joined(separator: "\n"))")
        output("The overall error for the run \(run) is \(fixed(error, 2))\n")
      } else if printRuns.contains(run - 1) {
        output("...\n")
      }
      if error == 0 {
        result.convergedAt = run
        break
      }
    }
    return result
  }

  /// The network without a hidden layer (3 → 1, linear), trained per sample like the article's
  /// earlier gradient descent; returns the error Σ (prediction − expected)² after each run.
  public static func trainWithoutHiddenLayer(seed: UInt64, runs: Int) -> [Double] {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let weights = Variable(
      Initializer.uniformUnit.weights(fanIn: 3, fanOut: 1, using: &rng) as Tensor<Double>, requiresGrad: true)
    let sgd = SGD(parameters: [weights], learningRate: alpha)
    let x = Variable(matrix(inputs))
    let y = matrix(expectedValues.map { [$0] })
    var errors: [Double] = []
    for _ in 0..<runs {
      for (input, expected) in zip(inputs, expectedValues) {
        sgd.zeroGrad()
        squaredError(
          predicted: matmul(Variable(matrix([input])), weights),
          target: Tensor(expected).reshaped(to: [1, 1])
        ).backward()
        sgd.step()
      }
      errors.append(
        withoutGradients { 2 * squaredError(predicted: matmul(x, weights), target: y) }.value.scalar)
    }
    return errors
  }

  /// The article's linearity example: inputs I1, I2, hidden weights W1…W4 and output weights W5,
  /// W6 (hA = I1W1 + I2W2, hB = I1W3 + I2W4, output = hA·W5 + hB·W6), checked against the
  /// collapsed Output = I1(W1W5 + W3W6) + I2(W2W5 + W4W6) and its derivatives.
  public static func checkLinearity(seed: UInt64) -> (
    formula: Double, tape: Double, report: DerivationReport<Double>
  ) {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let w = (0..<6).map { _ in Double.random(in: -1...1, using: &rng) }
    let (w1, w2, w3, w4, w5, w6) = (w[0], w[1], w[2], w[3], w[4], w[5])
    let (i1, i2) = (Double.random(in: -1...1, using: &rng), Double.random(in: -1...1, using: &rng))
    let input = Variable(matrix([[i1, i2]]), requiresGrad: true, name: "I")
    let hiddenWeights = Variable(matrix([[w1, w3], [w2, w4]]), requiresGrad: true, name: "W1…W4")
    let outputWeights = Variable(matrix([[w5], [w6]]), requiresGrad: true, name: "W5, W6")
    func stacked() -> Variable<Double> { matmul(matmul(input, hiddenWeights), outputWeights) }

    let formula = i1 * (w1 * w5 + w3 * w6) + i2 * (w2 * w5 + w4 * w6)
    let report = checkDerivation(
      [
        HandGradient("dOutput/dI", of: input, equals: matrix([[w1 * w5 + w3 * w6, w2 * w5 + w4 * w6]])),
        HandGradient(
          "dOutput/dW1…W4", of: hiddenWeights, equals: matrix([[i1 * w5, i1 * w6], [i2 * w5, i2 * w6]])),
        HandGradient(
          "dOutput/dW5, W6", of: outputWeights, equals: matrix([[i1 * w1 + i2 * w2], [i1 * w3 + i2 * w4]])),
      ]
    ) { _ in stacked() }
    return (formula, stacked().value.scalar, report)
  }

  /// Runs the article end to end, printing it the way the article does, and returns its claims.
  ///
  /// - Parameters:
  ///   - seed: Seeds the uniform [0, 1) initial weights.
  ///   - maxRuns: Gives up training after this many runs.
  ///   - output: Where the narrative goes.
  public static func run(seed: UInt64 = 2, maxRuns: Int = 1000, output: ExampleOutput = .standardOutput)
    -> [VerificationRow]
  {
    var rows: [VerificationRow] = []
    output("━━ BrainsToBytes: intermediate layers and backpropagation ━━\n")

    output("A network without a hidden layer (3 → 1) on the up/down data, α = \(alpha), per sample:")
    let flat = trainWithoutHiddenLayer(seed: seed, runs: maxRuns)
    let smallest = flat.min() ?? 0
    output(
      "  error after run 1: \(fixed(flat[0], 4)), run \(flat.count): \(fixed(flat.last!, 4)), "
        + "smallest: \(fixed(smallest, 4))")
    output(
      "  No linear map does better than error 1.0 here (least squares: every prediction 0.5), so it never "
        + "converges.\n")
    rows.append(
      VerificationRow(
        article: article, claim: "no hidden layer never converges: error ≥ 1 over \(flat.count) runs",
        hand: "≥ 1.0 (least squares)", tape: "min \(fixed(smallest, 6))", passed: smallest >= 1 - 1e-9))

    output("The 3-4-1 ReLU network, weights uniform in [0, 1), α = \(alpha), trained per sample:")
    output(
      "(The article rounds the prediction to one decimal before its delta. A tape cannot differentiate\n"
        + "through rounding, so it trains on the exact prediction; the rounded one is used only for the\n"
        + "printed error, as the article prints it.)\n")
    let network = Network(seed: seed)
    output.writePage(
      "brains-to-bytes", loss: network.loss(input: inputs[0], expected: expectedValues[0]),
      title: "BrainsToBytes' 3-4-1 ReLU network: the first sample, before training")
    let training = train(network, maxRuns: maxRuns, output: output, printRuns: [1, 2])
    rows.append(
      VerificationRow(
        article: article, claim: "3-4-1 ReLU network reaches error 0", hand: "0 (run 148 in the article)",
        tape: training.convergedAt.map { "0 (run \($0))" } ?? "not within \(maxRuns) runs",
        passed: training.convergedAt != nil))
    var log = DerivationLog()
    for check in training.checks { log.add(check) }
    rows += log.rows(
      article,
      claims: [
        ("layer2_delta", "layer2_delta = dJ/dprediction, all \(training.checks.count) samples"),
        ("layer1_delta", "layer1_delta = dJ/d(hidden pre-activation), all samples"),
        ("weights_2 adjustment", "hidden·layer2_delta = dJ/dweights_2, all samples"),
        ("weights_1 adjustment", "outer(input, layer1_delta) = dJ/dweights_1, all samples"),
      ])
    rows.append(
      VerificationRow(
        article: article, claim: "SGD on the tape = W −= α·adjustment, whole run", hand: "same weights",
        tape: "max |Δ| \(magnitude(training.largestUpdateDifference))",
        passed: training.largestUpdateDifference < 1e-12))

    output("Linearity: two stacked linear layers are one layer, Output = I1(W1W5+W3W6) + I2(W2W5+W4W6).")
    let linearity = checkLinearity(seed: seed)
    output(
      "  formula: \(fixed(linearity.formula, 6))   stacked network on the tape: \(fixed(linearity.tape, 6))\n"
    )
    rows.append(
      VerificationRow(
        article: article, claim: "stacked linear layers = the one-layer formula (value)",
        hand: fixed(linearity.formula, 6), tape: fixed(linearity.tape, 6),
        passed: abs(linearity.formula - linearity.tape) <= 1e-12))
    var linearityLog = DerivationLog()
    linearityLog.add(linearity.report)
    rows += linearityLog.rows(
      article,
      claims: [
        ("dOutput/dI", "… its gradient in I1, I2 = (W1W5+W3W6, W2W5+W4W6)"),
        ("dOutput/dW1…W4", "… its gradients in W1…W4 (I·W5, I·W6)"),
        ("dOutput/dW5, W6", "… its gradients in W5, W6 (the hidden values)"),
      ])
    return rows
  }

  static func format(_ values: [Double]) -> String {
    "[" + values.map { fixed($0, 8) }.joined(separator: " ") + "]"
  }
}
