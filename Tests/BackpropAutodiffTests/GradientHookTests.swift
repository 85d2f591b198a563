import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// `onGradientAccumulated`: when a backward pass runs a parameter's hook, and with what.
@Suite("Gradient hooks")
struct GradientHookTests {
  /// A log of the hooks that ran, each with the other parameters' gradients at the time.
  final class Log {
    var entries: [String] = []
  }

  /// The identity, whose pullback writes "pullback" in a log: when the backward pass went
  /// through it.
  struct LoggedIdentity: DifferentiableOperation {
    typealias Scalar = Double
    let log: Log
    var name: String { "logged identity" }
    func pullback<G: GradientAlgebra<Double>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
      -> Operands<G?>
    {
      log.entries.append("pullback")
      return Operands(g)
    }
  }

  /// Three layers, tanh(x·w₁)·w₂·w₃ summed, each weight hooked, with a logged identity after the
  /// first layer: `withResidual` adds half of it again to the last layer's input, so that the graph
  /// reads a result out of order.
  static func run(withResidual: Bool, createGraph: Bool) -> (log: [String], grads: [Tensor<Double>]) {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let x = Variable(Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng))
    let weights = (1...3).map { index in
      Variable(
        Tensor<Double>(randomUniform: [3, 3], lowerBound: -1, upperBound: 1, using: &rng), requiresGrad: true,
        name: "w\(index)")
    }
    let log = Log()
    for weight in weights {
      weight.onGradientAccumulated = { [weak log, weights = weights.map(Weak.init)] parameter in
        let others = weights.compactMap(\.variable).filter { $0 !== parameter }
        let done = others.filter { $0.grad != nil }.compactMap(\.name).joined(separator: ",")
        log?.entries.append("\(parameter.name!) after [\(done)]")
      }
    }
    let product = matmul(x, weights[0])
    let first = Variable.record(LoggedIdentity(log: log), Operands(product), value: product.value)
    var h = matmul(tanh(first), weights[1])
    if withResidual { h = h + first * 0.5 }  // first * 0.5 starts a graph of its own
    let loss = matmul(h, weights[2]).sum()
    loss.backward(createGraph: createGraph)
    return (log.entries, weights.map { $0.grad! })
  }

  /// A weak reference to a variable, so that hooks do not keep the parameters alive.
  struct Weak {
    weak var variable: Variable<Double>?
    init(_ variable: Variable<Double>) { self.variable = variable }
  }

  @Test(
    "A hook runs once per pass, as soon as its parameter's gradient is final, before earlier layers finish")
  func hooksRunWhenGradientsAreFinal() {
    for createGraph in [false, true] {
      let (log, grads) = Self.run(withResidual: false, createGraph: createGraph)
      #expect(log == ["w3 after []", "w2 after [w3]", "pullback", "w1 after [w2,w3]"])
      // The same gradients as without hooks.
      var rng = SeededRandomNumberGenerator(seed: 4)
      let x = Variable(Tensor<Double>(randomUniform: [2, 3], lowerBound: -1, upperBound: 1, using: &rng))
      let weights = (1...3).map { _ in
        Variable(
          Tensor<Double>(randomUniform: [3, 3], lowerBound: -1, upperBound: 1, using: &rng),
          requiresGrad: true)
      }
      matmul(matmul(tanh(matmul(x, weights[0])), weights[1]), weights[2]).sum().backward()
      #expect(grads == weights.map { $0.grad! })
    }
  }

  @Test("Hooks run in the ordered walk too: a graph that reads a result out of order")
  func hooksInAnOrderedWalk() {
    let (log, _) = Self.run(withResidual: true, createGraph: false)
    #expect(log == ["w3 after []", "w2 after [w3]", "pullback", "w1 after [w2,w3]"])
  }

  @Test("A parameter read twice gets both contributions before its hook; a hook set to nil is gone")
  func fanOutAndRemoval() {
    let w = Variable(Tensor<Double>([2]), requiresGrad: true)
    var seen: [Tensor<Double>] = []
    w.onGradientAccumulated = { seen.append($0.grad!) }
    #expect(w.onGradientAccumulated != nil)
    (w * w * 3 + w).sum().backward()  // d/dw = 6w + 1 = 13
    #expect(seen == [Tensor([13])])
    _ = gradients(of: (w * w).sum(), withRespectTo: [w])  // leaves grad alone: no hook
    #expect(seen.count == 1)
    w.onGradientAccumulated = nil
    (w * w).sum().backward()
    #expect(seen.count == 1)
    #expect(w.onGradientAccumulated == nil)
  }

  @Test("Hooks that capture nothing strongly free with their parameters")
  func hooksFree() {
    countingLiveVariables { counter in
      do {
        let w = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        var calls = 0
        w.onGradientAccumulated = { _ in calls += 1 }
        (w * w).sum().backward()
        #expect(calls == 1)
      }
      #expect(counter.count == 0)
    }
  }

  @Test("A hook on a variable that is not a parameter stops with a message")
  func hookOnAResult() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let w = Variable(Tensor<Double>([1]), requiresGrad: true)
      let y = (w * 2).named("y")
      y.onGradientAccumulated = { _ in }
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("onGradientAccumulated: y is not a parameter"))
  }
}
