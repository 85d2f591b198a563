import Backprop
import BackpropTestSupport
import Testing

@Suite("chainRuleTrace: the chain rule path by path")
struct ChainRuleTraceTests {
  @Test("Fan-out gives one path per use, and the paths sum to the tape's gradient")
  func fanOut() {
    // z = x·x + x: dz/dx = x + x + 1 through three paths.
    let x = Variable(3.0, requiresGrad: true, name: "x")
    let z = (x * x + x).named("z")
    let trace = chainRuleTrace(of: z, withRespectTo: x)
    #expect(trace.paths.count == 3)
    #expect(trace.paths.map(\.product).sorted() == [1, 3, 3])
    #expect(trace.sumOverPaths == 7)
    #expect(trace.tapeGradient == 7)
    #expect(trace.agreesWithTape())
    #expect(trace.paths[0].elements == ["z", "v1", "x"])
    #expect(trace.paths[0].factors.map(\.symbol) == ["∂z/∂v1", "∂v1/∂x"])
    #expect(trace.paths[0].factors.map(\.formula) == ["1", "x"])
    #expect(trace.paths[2].elements == ["z", "x"])
  }

  @Test("A 2-2-1 sigmoid network: formulas in the article's names, numbers equal to the tape's")
  func network() {
    let w = Variable(Tensor<Double>([[0.1, 0.2], [0.3, 0.4]]), requiresGrad: true, name: "W")
    let b = Variable(Tensor<Double>([0.5, 0.5]), requiresGrad: true, name: "b")
    let v = Variable(Tensor<Double>([[0.01], [0.02]]), requiresGrad: true, name: "V")
    let x = Variable(Tensor<Double>([[1, 0.5]]), name: "i")
    let a = sigmoid(matmul(x, w) + b).named("a")
    let ao = sigmoid(matmul(a, v)).named("a_o")
    let loss = squaredError(predicted: ao, target: Variable(Tensor<Double>([[1]]), name: "y")).named("J")
    let tape = gradients(of: loss, withRespectTo: [w, v])

    for (variable, gradient) in [(w, tape[0]), (v, tape[1])] {
      for row in 0..<2 {
        for column in 0..<variable.shape[1] {
          let trace = chainRuleTrace(of: loss, withRespectTo: variable, at: [row, column])
          #expect(trace.tapeGradient == gradient.value[scalarAt: [row, column]])
          #expect(isClose(trace.sumOverPaths, trace.tapeGradient, absoluteTolerance: 1e-15))
          // Every factor is a local derivative of the graph: the product telescopes to the path.
          for path in trace.paths { #expect(path.factors.count == path.elements.count - 1) }
        }
      }
    }

    // dJ/dV[0, 0] = (a_o − y)·a_o(1 − a_o)·a[0, 0]: two paths through the square's two uses.
    let trace = chainRuleTrace(of: loss, withRespectTo: v, at: [0, 0])
    #expect(trace.paths.count == 2)
    #expect(trace.element == "V[0, 0]")
    let formulas = trace.paths[0].factors.compactMap(\.formula)
    #expect(formulas.contains("a_o(1 − a_o)"))
    #expect(formulas.last == "a[0, 0]")
    let first = trace.description.split(separator: "\n")[0]
    #expect(first.hasPrefix("dJ/dV[0, 0]: 2 paths; their sum"))
    #expect(first.hasSuffix("✓"))

    // dJ/dW[1, 0] reaches W through the input i[0, 1] = 0.5 and the hidden unit a[0, 0].
    let hidden = chainRuleTrace(of: loss, withRespectTo: w, at: [1, 0])
    #expect(hidden.paths.allSatisfy { $0.factors.last?.formula == "i[0, 1]" })
    #expect(hidden.paths.allSatisfy { $0.elements.contains("a[0, 0]") })
  }

  @Test("Zero local derivatives are left out; a parameter the output does not reach has no path")
  func zeros() {
    let x = Variable(-1.0, requiresGrad: true, name: "x")
    let unused = Variable(1.0, requiresGrad: true, name: "u")
    let y = relu(x * 2).named("y")
    let trace = chainRuleTrace(of: y, withRespectTo: x)
    #expect(trace.paths.isEmpty)
    #expect(trace.tapeGradient == 0)
    #expect(trace.agreesWithTape())
    #expect(chainRuleTrace(of: y, withRespectTo: unused).paths.isEmpty)
  }

  @Test("Float graphs are traced too")
  func float() {
    let x = Variable(Float(0.5), requiresGrad: true, name: "x")
    let y = tanh(exp(x) / x).named("y")
    let trace = chainRuleTrace(of: y, withRespectTo: x)
    #expect(trace.paths.count == 2)
    #expect(isClose(trace.sumOverPaths, trace.tapeGradient, absoluteTolerance: 1e-5))
    #expect(trace.paths.flatMap(\.factors).compactMap(\.formula).contains("1 − y²"))
  }
}
