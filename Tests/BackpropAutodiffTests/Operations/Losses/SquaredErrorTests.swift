import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("SquaredError")
struct SquaredErrorTests {
  @Test("J = ½(p − e)² with p = 0.512, e = 1: dJ/dp = p − e")
  func workedValues() {
    let p = Variable(Tensor<Double>([0.512]), requiresGrad: true)
    let j = squaredError(predicted: p, target: Tensor([1]))
    #expect(isClose(j.value.scalar, 0.5 * 0.488 * 0.488))
    j.backward()
    #expect(isClose(p.grad!.scalar, -0.488))
    let e = Variable(Tensor<Double>([1]), requiresGrad: true)
    squaredError(predicted: p.detached(), target: e).backward()
    #expect(isClose(e.grad!.scalar, 0.488))
  }

  @Test(
    "One node on the tape; pictures, traces and pages show the four steps with the steps' values and gradients"
  )
  func oneNodeShownAsFourSteps() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let w = Variable(Tensor<Double>(randomUniform: [3, 2], using: &rng), requiresGrad: true, name: "w")
    let x = Variable(Tensor<Double>(randomUniform: [4, 3], using: &rng))
    let target = Tensor<Double>(randomUniform: [4, 2], using: &rng)
    let y = Variable(target, name: "y")
    let p = sigmoid(matmul(x, w)).named("p")
    /// The steps written out, as the operation shows them.
    func steps(_ difference: Variable<Double>, mean: Bool = false) -> Variable<Double> {
      difference.name = "(p − y)"
      let squares = difference * difference
      return (mean ? squares.mean() : squares.sum() * 0.5).named("J")
    }
    for (loss, written, name, inputCount) in [
      (squaredError(predicted: p, target: target).named("J"), steps(p - target), "squaredError", 1),
      (squaredError(predicted: p, target: y).named("J"), steps(p - y), "squaredError", 2),
      (
        meanSquaredError(predicted: p, target: target).named("J"), steps(p - target, mean: true),
        "meanSquaredError", 1
      ),
      (
        meanSquaredError(predicted: p, target: y).named("J"), steps(p - y, mean: true), "meanSquaredError", 2
      ),
    ] {
      #expect(loss.operationName == name && loss.inputs.count == inputCount)
      #expect(loss.value == written.value)
      #expect(
        gradients(of: loss, withRespectTo: [w, p]).map(\.value)
          == gradients(of: written, withRespectTo: [w, p]).map(\.value))
      #expect(loss.graphviz() == written.graphviz())
      #expect(
        chainRuleTrace(of: loss, withRespectTo: w, at: [0, 1]).description
          == chainRuleTrace(of: written, withRespectTo: w, at: [0, 1]).description)
      #expect(loss.backwardPassPage() == written.backwardPassPage())
    }
  }

  @Test(
    "A loss read by later operations: the copy records them again on the steps, and shows what the steps would"
  )
  func lossReadByLaterOperations() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let x = Variable(Tensor<Double>(randomUniform: [2, 3], using: &rng), requiresGrad: true, name: "x")
    let target = Tensor<Double>(randomUniform: [2, 3], using: &rng)
    let p = tanh(x).named("p")
    let written = (p - target).named("(p − y)")
    let steps = ((written * written).sum() * 0.5).named("J")
    let loss = (sigmoid(x).sum() + squaredError(predicted: p, target: target).named("J")) * 2
    let expected = (sigmoid(x).sum() + steps) * 2
    #expect(loss.value == expected.value)
    #expect(loss.graphviz() == expected.graphviz())
    #expect(
      chainRuleTrace(of: loss, withRespectTo: x, at: [1, 2]).description
        == chainRuleTrace(of: expected, withRespectTo: x, at: [1, 2]).description)
    #expect(loss.backwardPassPage() == expected.backwardPassPage())
    #expect(loss.operationName == "* constant" && loss.inputs[0].inputs[1].operationName == "squaredError")
  }
}
