import ArticleExamples
import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// tinhatben, "Neural Networks and Backpropagation: Part One" — the OR gate.
@Suite("Article: tinhatben")
struct TinhatbenTests {
  /// `x` rounded to `digits` decimals.
  func rounded(_ x: Double, _ digits: Int) -> Double {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return (x * scale).rounded() / scale
  }

  @Test(
    "The forward pass at the article's weights: h = (0.6, 0.7), a = (0.646, 0.668), h_o = 0.04982, a_o = 0.512"
  )
  func forward() {
    let network = TinhatbenArticle.Network()
    let f = network.forward(Variable(Tensor<Double>([[1, 0]])))
    #expect(isClose(f.h.value, [[0.6, 0.7]], absoluteTolerance: 1e-15))
    #expect(f.a.value.scalars.map { rounded($0, 3) } == [0.646, 0.668])
    #expect(rounded(f.ho.value.scalar, 5) == 0.04982)
    #expect(rounded(f.ao.value.scalar, 3) == 0.512)
    // The article's h_o is computed from the rounded activations: 0.646(0.01) + 0.668(0.02) + 0.03.
    #expect(isClose(0.646 * 0.01 + 0.668 * 0.02 + 0.03, 0.04982, absoluteTolerance: 1e-15))
  }

  @Test("One backpropagation step by the hand chain rule equals the tape, at every input of the truth table")
  func backpropagation() {
    let network = TinhatbenArticle.Network()
    for (input, target) in zip(TinhatbenArticle.inputs, TinhatbenArticle.outputs) + [([1, 0], 1)] {
      let report = TinhatbenArticle.checkBackpropagation(network, input: input, target: target)
      #expect(report.passed, "input \(input): \(report)")
    }
  }

  @Test("A gradient-descent step with the hand gradients equals SGD on the tape")
  func oneStep() {
    let network = TinhatbenArticle.Network()
    let hand = TinhatbenArticle.handGradients(network, input: [1, 0], target: 1)
    let sgd = SGD(parameters: network.parameters, learningRate: 0.5)
    sgd.zeroGrad()
    network.loss([[1, 0]], [1]).backward()
    sgd.step()
    let expected: [Tensor<Double>] = [
      matrix([[0.1 - 0.5 * hand.w1, 0.2 - 0.5 * hand.w2], [0.3 - 0.5 * hand.w3, 0.4 - 0.5 * hand.w4]]),
      Tensor([0.5 - 0.5 * hand.b1, 0.5 - 0.5 * hand.b2]),
      matrix([[0.01 - 0.5 * hand.w5], [0.02 - 0.5 * hand.w6]]),
      Tensor([0.03 - 0.5 * hand.b3]),
    ]
    for (parameter, value) in zip(network.parameters, expected) {
      #expect(isClose(parameter.value, value, absoluteTolerance: 1e-15))
    }
  }

  @Test("The network learns OR on all four inputs")
  func learnsOR() {
    let network = TinhatbenArticle.Network()
    let losses = TinhatbenArticle.trainOR(network, epochs: 2000)
    #expect(losses.last! < 0.001)
    let predictions = network.forward(Variable(Tensor<Double>([[0, 0], [0, 1], [1, 0], [1, 1]]))).ao.value
    #expect(isClose(predictions, [[0], [1], [1], [1]], absoluteTolerance: 0.05))
  }

  @Test("The library's chain-rule trace of every weight sums to the article's hand gradient")
  func chainRuleTraces() {
    let network = TinhatbenArticle.Network()
    let hand = TinhatbenArticle.handGradients(network, input: [1, 0], target: 1)
    let loss = TinhatbenArticle.namedLoss(network, input: [1, 0], target: 1)
    let expected: [(Variable<Double>, [Int], Double)] = [
      (network.hidden.weight, [0, 0], hand.w1), (network.hidden.weight, [0, 1], hand.w2),
      (network.hidden.weight, [1, 0], hand.w3), (network.hidden.weight, [1, 1], hand.w4),
      (network.output.weight, [0, 0], hand.w5), (network.output.weight, [1, 0], hand.w6),
      (network.output.bias, [0], hand.b3),
    ]
    for (variable, index, value) in expected {
      let trace = chainRuleTrace(of: loss, withRespectTo: variable, at: index)
      #expect(trace.agreesWithTape(), "\(trace)")
      #expect(isClose(trace.sumOverPaths, value, absoluteTolerance: 1e-15), "\(trace)")
    }
    // w3 and w4 multiply the input i2 = 0: no path carries a non-zero product.
    #expect(chainRuleTrace(of: loss, withRespectTo: network.hidden.weight, at: [1, 0]).paths.isEmpty)
    // dJ/dw5's path reads like the article's (a_o − y)·a_o(1 − a_o)·a1, with the ½ and the
    // square's two factors.
    let w5 = chainRuleTrace(of: loss, withRespectTo: network.output.weight, at: [0, 0])
    #expect(
      w5.paths[0].factors.map { $0.formula ?? "?" }
        == ["0.5", "1", "(a_o − y)", "1", "a_o(1 − a_o)", "1", "a[0, 0]"])
  }

  @Test("The example runs and every verification row passes")
  func example() {
    let rows = TinhatbenArticle.run(output: .discard)
    #expect(rows.count == 13)
    for row in rows {
      #expect(row.passed, "\(row.claim): hand \(row.hand), tape \(row.tape)\n\(row.details)")
    }
  }

  @Test("The README's pictures are current: Examples/Pictures is what the code draws now")
  func picturesAreCurrent() throws {
    let pictures = URL(filePath: #filePath).deletingLastPathComponent()
      .appending(path: "../../Examples/Pictures").standardized
    func committed(_ name: String) throws -> String {
      try String(contentsOf: pictures.appending(path: name), encoding: .utf8)
    }
    let remedy = "the committed picture is stale: run Scripts/update-pictures"
    let network = TinhatbenArticle.Network()
    let graph = TinhatbenArticle.graphPicture(
      of: TinhatbenArticle.namedLoss(network, input: [1, 0], target: 1))
    #expect(try committed("or-gate-graph.dot") == graph, "\(remedy)")
    #expect(try committed("or-gate-graph.svg").contains(sourceStamp(of: graph)), "\(remedy)")
    let page = TinhatbenArticle.namedLoss(network, input: [1, 0], target: 1).backwardPassPage(
      title: TinhatbenArticle.pageTitle)
    #expect(try committed("or-gate-backward.html") == page, "\(remedy)")
    let screenshot = try Data(contentsOf: pictures.appending(path: "or-gate-backward.png"))
    #expect(screenshot.range(of: Data(pageStamp(of: page).utf8)) != nil, "\(remedy)")
    let documentation = pictures.appending(
      path: "../../Sources/Backprop/Backprop.docc/Resources/or-gate-backward.png")
    #expect(try Data(contentsOf: documentation) == screenshot, "\(remedy)")
    let losses = TinhatbenArticle.trainOR(network, epochs: 2000, progress: nil)
    #expect(try committed("or-gate-loss.svg") == TinhatbenArticle.lossPlot(losses).svg, "\(remedy)")
  }

  @Test(
    "The OR gate's backward-pass page shows the article's numbers: h = (0.6, 0.7), a = (0.646, 0.668), dJ/dw5"
  )
  func backwardPassPage() throws {
    let loss = TinhatbenArticle.namedLoss(TinhatbenArticle.Network(), input: [1, 0], target: 1)
    let html = loss.backwardPassPage(title: TinhatbenArticle.pageTitle)
    let start = try #require(html.range(of: #"<script id="data" type="application/json">"#))
    let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
    let data = try #require(
      try JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8))
        as? [String: Any])
    let nodes = try #require(data["nodes"] as? [[String: Any]])
    func values(_ name: String) throws -> [Double] {
      let node = try #require(nodes.first { $0["name"] as? String == name })
      return try #require((node["value"] as? [String: Any])?["elements"] as? [Double])
    }
    #expect(try values("h") == [0.6, 0.7].map { $0 })
    #expect(try values("a").map { ($0 * 1000).rounded() / 1000 } == [0.646, 0.668])
    let v = try #require(nodes.firstIndex { $0["name"] as? String == "V" })
    let tape = try #require((data["traces"] as? [String: Any])?["tape"] as? [String: Any])
    let gradient = try #require((tape[String(v)] as? [String: Any])?["elements"] as? [Double])
    #expect(abs(gradient[0] - (-0.0786482)) < 5e-8)
  }
}
