import Backprop
import Foundation

/// tinhatben, *Neural Networks and Backpropagation: Part One* — the OR gate.
///
/// A 2-2-1 sigmoid network with known starting weights, its forward pass worked by hand, one
/// backpropagation step by the chain rule, and training on all four inputs.
///
/// How we read the article's slips: it lists `w_2` twice — the second is w6 = 0.02 — and `i_1`
/// twice — the second is i2 = 0; its hidden equations add b2 to h1 and b1 to h2, and since both
/// are 0.5 we give h1 the bias b1 and h2 the bias b2.
public enum TinhatbenArticle {
  static let article = "tinhatben"

  /// The OR truth table: inputs and outputs.
  public static let inputs: [[Double]] = [[0, 0], [0, 1], [1, 0], [1, 1]]
  /// The OR of each input.
  public static let outputs: [Double] = [0, 1, 1, 1]

  /// The network: hidden = sigmoid(x·W + b), output = sigmoid(hidden·W′ + b3).
  public final class Network {
    /// `[[w1, w2], [w3, w4]]`: h1 = i1·w1 + i2·w3 + b1, h2 = i1·w2 + i2·w4 + b2.
    public let hidden: Dense<Double>
    /// `[[w5], [w6]]` and b3: h_o = a1·w5 + a2·w6 + b3.
    public let output: Dense<Double>

    /// The article's starting weights: w1…w4 = 0.1, 0.2, 0.3, 0.4; b1 = b2 = 0.5; w5 = 0.01,
    /// w6 = 0.02, b3 = 0.03.
    public init() {
      hidden = Dense(weight: [[0.1, 0.2], [0.3, 0.4]], bias: [0.5, 0.5])
      output = Dense(weight: [[0.01], [0.02]], bias: [0.03])
    }

    /// The parameters in the order w1…w4, b1, b2, w5, w6, b3 (as tensors).
    public var parameters: [Variable<Double>] { hidden.parameters + output.parameters }

    /// Every value of the forward pass for inputs `x` (`[batch, 2]`).
    public func forward(_ x: Variable<Double>) -> (
      h: Variable<Double>, a: Variable<Double>, ho: Variable<Double>, ao: Variable<Double>
    ) {
      let h = hidden(x)
      let a = sigmoid(h)
      let ho = output(a)
      return (h, a, ho, sigmoid(ho))
    }

    /// J = ½ Σ (a_o − y)².
    public func loss(_ x: [[Double]], _ y: [Double]) -> Variable<Double> {
      squaredError(predicted: forward(Variable(matrix(x))).ao, target: matrix(y.map { [$0] }))
    }
  }

  /// One sample's gradients by the hand chain rule, named after the article's weights.
  public struct HandGradients: Sendable {
    /// (a_o − y)·a_o(1 − a_o): dJ/dh_o.
    public var outputDelta: Double
    /// dJ/dw5 = δ_o·a1 and dJ/dw6 = δ_o·a2.
    public var w5: Double, w6: Double
    /// dJ/db3 = δ_o.
    public var b3: Double
    /// δ1 = δ_o·w5·a1(1 − a1) and δ2 = δ_o·w6·a2(1 − a2): dJ/dh1, dJ/dh2.
    public var hiddenDeltas: [Double]
    /// dJ/dw1 = δ1·i1, dJ/dw2 = δ2·i1, dJ/dw3 = δ1·i2, dJ/dw4 = δ2·i2.
    public var w1: Double, w2: Double, w3: Double, w4: Double
    /// dJ/db1 = δ1, dJ/db2 = δ2.
    public var b1: Double, b2: Double
  }

  /// The chain rule by hand for J = ½(a_o − y)² at one input, from the network's current weights.
  public static func handGradients(_ network: Network, input: [Double], target y: Double) -> HandGradients {
    let w = network.hidden.weight.value
    let b = network.hidden.bias.value
    let v = network.output.weight.value
    func g(_ z: Double) -> Double { 1 / (1 + Foundation.exp(-z)) }
    let (i1, i2) = (input[0], input[1])
    let a1 = g(i1 * w[scalarAt: [0, 0]] + i2 * w[scalarAt: [1, 0]] + b[scalarAt: 0])
    let a2 = g(i1 * w[scalarAt: [0, 1]] + i2 * w[scalarAt: [1, 1]] + b[scalarAt: 1])
    let ao = g(a1 * v[scalarAt: [0, 0]] + a2 * v[scalarAt: [1, 0]] + network.output.bias.value[scalarAt: 0])
    let deltaO = (ao - y) * ao * (1 - ao)
    let delta1 = deltaO * v[scalarAt: [0, 0]] * a1 * (1 - a1)
    let delta2 = deltaO * v[scalarAt: [1, 0]] * a2 * (1 - a2)
    return HandGradients(
      outputDelta: deltaO, w5: deltaO * a1, w6: deltaO * a2, b3: deltaO, hiddenDeltas: [delta1, delta2],
      w1: delta1 * i1, w2: delta2 * i1, w3: delta1 * i2, w4: delta2 * i2, b1: delta1, b2: delta2)
  }

  /// The hand chain rule against the tape (and finite differences) at one input.
  public static func checkBackpropagation(_ network: Network, input: [Double], target: Double)
    -> DerivationReport<Double>
  {
    let hand = handGradients(network, input: input, target: target)
    return checkDerivation([
      HandGradient("dJ/dh_o = (a_o − y)·a_o(1 − a_o)", atProbe: "h_o", equals: matrix([[hand.outputDelta]])),
      HandGradient("dJ/d(w5, w6)", of: network.output.weight, equals: matrix([[hand.w5], [hand.w6]])),
      HandGradient("dJ/db3", of: network.output.bias, equals: Tensor([hand.b3])),
      HandGradient("dJ/d(h1, h2)", atProbe: "h", equals: matrix([hand.hiddenDeltas])),
      HandGradient(
        "dJ/d(w1…w4)", of: network.hidden.weight, equals: matrix([[hand.w1, hand.w2], [hand.w3, hand.w4]])),
      HandGradient("dJ/d(b1, b2)", of: network.hidden.bias, equals: Tensor([hand.b1, hand.b2])),
    ]) { probe in
      let h = probe("h", network.hidden(Variable(matrix([input]))))
      let ho = probe("h_o", network.output(sigmoid(h)))
      return squaredError(predicted: sigmoid(ho), target: matrix([[target]]))
    }
  }

  /// Trains on the whole truth table with gradient descent and returns the loss of each epoch.
  ///
  /// - Parameter progress: Reports each epoch, if given.
  public static func trainOR(
    _ network: Network, epochs: Int, learningRate: Double = 2.0, progress: TrainingProgress? = nil
  ) -> [Double] {
    let sgd = SGD(parameters: network.parameters, learningRate: learningRate)
    var losses: [Double] = []
    for epoch in 1...epochs {
      sgd.zeroGrad()
      let loss = network.loss(inputs, outputs)
      loss.backward()
      sgd.step()
      losses.append(loss.value.scalar)
      progress?.update(epoch: epoch, loss: losses[epoch - 1])
    }
    progress?.finish()
    return losses
  }

  /// J for one input with every variable named as in the article — i, h, a, h_o, a_o, y, J — and
  /// the weights W = [[w1, w2], [w3, w4]], b = [b1, b2], V = [[w5], [w6]], b3, for graph pictures
  /// and chain-rule traces.
  public static func namedLoss(_ network: Network, input: [Double], target: Double) -> Variable<Double> {
    network.hidden.weight.name = "W"
    network.hidden.bias.name = "b"
    network.output.weight.name = "V"
    network.output.bias.name = "b3"
    let h = network.hidden(Variable(matrix([input]), name: "i")).named("h")
    let a = sigmoid(h).named("a")
    let ho = network.output(a).named("h_o")
    let ao = sigmoid(ho).named("a_o")
    return squaredError(predicted: ao, target: Variable(matrix([[target]]), name: "y")).named("J")
  }

  /// The README's picture of the tape: the graph of one sample's loss (input (1, 0), target 1)
  /// with the article's names, values and gradients, laid out top to bottom.
  public static func graphPicture(of loss: Variable<Double>) -> String { loss.graphviz() }

  /// The title of the example's backward-pass page, `output/or-gate-backward.html`.
  public static let pageTitle = "tinhatben's OR gate: one sample, (1, 0) → 1"

  /// The README's loss curve: J per epoch of ``trainOR(_:epochs:progress:)``, on a log scale.
  public static func lossPlot(_ losses: [Double]) -> LossPlot {
    LossPlot(title: "tinhatben's OR gate: J per epoch, α = 2", losses: losses, logarithmic: true)
  }

  /// Runs the article end to end and returns its claims.
  ///
  /// - Parameter output: Where the narrative goes.
  public static func run(output: ExampleOutput = .standardOutput) -> [VerificationRow] {
    var rows: [VerificationRow] = []
    output("━━ tinhatben: the OR gate ━━\n")
    output("Reading the article's slips: its second w_2 is w6 = 0.02 and its second i_1 is i2 = 0; it adds")
    output("b2 to h1 and b1 to h2 — both are 0.5, so h1 gets b1 and h2 gets b2 here.\n")
    let network = Network()
    let forward = network.forward(Variable(matrix([[1, 0]])))
    let (h, a, ho, ao) = (
      forward.h.value.scalars, forward.a.value.scalars, forward.ho.value.scalar, forward.ao.value.scalar
    )
    output("Forward pass for input (1, 0):")
    output(
      "  h1 = 1(0.1) + 0(0.3) + 0.5 = \(fixed(h[0], 6))    h2 = 1(0.2) + 0(0.4) + 0.5 = \(fixed(h[1], 6))")
    output("  a1 = g(h1) = \(fixed(a[0], 6))    a2 = g(h2) = \(fixed(a[1], 6))")
    output("  h_o = a1(0.01) + a2(0.02) + 0.03 = \(fixed(ho, 8))")
    output("  a_o = g(h_o) = \(fixed(ao, 6))\n")
    func row(_ claim: String, _ article: String, _ value: String) -> VerificationRow {
      VerificationRow(
        article: Self.article, claim: claim, hand: article, tape: value, passed: article == value)
    }
    rows.append(row("h = (0.6, 0.7)", "(0.6, 0.7)", "(\(fixed(h[0], 1)), \(fixed(h[1], 1)))"))
    rows.append(
      row("a = (0.646, 0.668), 3 decimals", "(0.646, 0.668)", "(\(fixed(a[0], 3)), \(fixed(a[1], 3)))"))
    rows.append(row("h_o = 0.04982, 5 decimals", "0.04982", fixed(ho, 5)))
    rows.append(row("a_o = 0.512, 3 decimals", "0.512", fixed(ao, 3)))

    output("One backpropagation step for target 1, J = ½(a_o − 1)², by the chain rule:")
    let hand = handGradients(network, input: [1, 0], target: 1)
    output("  δ_o = (a_o − y)·a_o(1 − a_o) = \(fixed(hand.outputDelta, 8))")
    output(
      "  dJ/dw5 = δ_o·a1 = \(fixed(hand.w5, 8))    dJ/dw6 = δ_o·a2 = \(fixed(hand.w6, 8))    dJ/db3 = δ_o")
    output(
      "  δ1 = δ_o·w5·a1(1 − a1) = \(fixed(hand.hiddenDeltas[0], 10))    δ2 = δ_o·w6·a2(1 − a2) = \(fixed(hand.hiddenDeltas[1], 10))"
    )
    output(
      "  dJ/dw1 = δ1·i1 = \(fixed(hand.w1, 10))   dJ/dw2 = δ2·i1 = \(fixed(hand.w2, 10))   dJ/dw3 = dJ/dw4 = 0 (i2 = 0)"
    )
    output("\nThe same chain rule, written out by chainRuleTrace from the tape (W = [[w1, w2], [w3, w4]],")
    output("V = [[w5], [w6]]; J = ½ Σ (a_o − y)² squares by a product, so each path appears twice, once")
    output("per factor of the square, and the two halves add up):")
    let loss = namedLoss(network, input: [1, 0], target: 1)
    var traceRows: [VerificationRow] = []
    for (variable, index, article) in [
      (network.output.weight, [0, 0], "dJ/dw5"), (network.hidden.weight, [0, 0], "dJ/dw1"),
    ] {
      let trace = chainRuleTrace(of: loss, withRespectTo: variable, at: index)
      output(trace.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
      let hand = article == "dJ/dw5" ? hand.w5 : hand.w1
      traceRows.append(
        VerificationRow(
          article: Self.article, claim: "\(article): the sum over chain-rule paths", hand: fixed(hand, 12),
          tape: fixed(trace.sumOverPaths, 12) + " (\(trace.paths.count) paths)",
          passed: trace.agreesWithTape() && Swift.abs(trace.sumOverPaths - hand) < 1e-15))
    }
    let graph = graphPicture(of: loss)
    output.writePage("or-gate", loss: loss, title: pageTitle)
    var log = DerivationLog()
    log.add(checkBackpropagation(network, input: [1, 0], target: 1))
    rows += log.rows(
      article,
      claims: [
        ("dJ/dh_o = (a_o − y)·a_o(1 − a_o)", "δ_o = (a_o − y)·a_o(1 − a_o)"),
        ("dJ/d(w5, w6)", "dJ/dw5 = δ_o·a1, dJ/dw6 = δ_o·a2"), ("dJ/db3", "dJ/db3 = δ_o"),
        ("dJ/d(h1, h2)", "δ1 = δ_o·w5·a1(1 − a1), δ2 = δ_o·w6·a2(1 − a2)"),
        ("dJ/d(w1…w4)", "dJ/dw1…w4 = δ·input"), ("dJ/d(b1, b2)", "dJ/db1 = δ1, dJ/db2 = δ2"),
      ])
    rows += traceRows

    output("\nTraining on the whole truth table, gradient descent with α = 2:")
    let losses = trainOR(network, epochs: 2000, progress: output.progress(epochs: 2000))
    for epoch in [0, 99, 499, 1999] { output("  epoch \(epoch + 1): J = \(fixed(losses[epoch], 6))") }
    output.writeFiles("or-gate", plot: lossPlot(losses), graph: graph)
    let predictions = withoutGradients { network.forward(Variable(matrix(inputs))).ao }.value.scalars
    output("  a_o for 00, 01, 10, 11: \(predictions.map { fixed($0, 3) }.joined(separator: ", "))\n")
    rows.append(
      VerificationRow(
        article: article, claim: "the network learns OR (2,000 epochs)", hand: "0 1 1 1",
        tape: predictions.map { $0 >= 0.5 ? "1" : "0" }.joined(separator: " ")
          + " (J = \(fixed(losses.last!, 4)))",
        passed: zip(predictions, outputs).allSatisfy { abs($0 - $1) < 0.1 }))
    return rows
  }
}
