import Backprop
import BackpropTestSupport
import Testing

/// Random expression graphs — 2 to 20 operations over leaves of broadcast-compatible shapes,
/// reusing earlier results (shared sub-expressions) — agree with central finite differences.
@Suite("Random expression graphs")
struct RandomGraphTests {
  static let leafShapes: [[Int]] = [[3, 4], [3, 1], [1, 4], [4], []]

  /// Builds one random graph from `seed`; the same seed always gives the same graph.
  static func graph(seed: UInt64) -> (
    inputs: [Tensor<Double>], build: ([Variable<Double>]) -> Variable<Double>
  ) {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let leafCount = 2 + Int(rng.next() % 3)
    let inputs: [Tensor<Double>] = (0..<leafCount).map { _ in
      randomTensor(leafShapes[Int(rng.next() % UInt64(leafShapes.count))], in: -1.5...1.5, using: &rng)
    }
    let operationCount = 2 + Int(rng.next() % 19)
    // A recipe: each step picks an operation and operands among everything built so far.
    var recipe: [(op: Int, a: Int, b: Int)] = []
    for step in 0..<operationCount {
      let available = leafCount + step
      recipe.append(
        (Int(rng.next() % 9), Int(rng.next() % UInt64(available)), Int(rng.next() % UInt64(available))))
    }
    let build: ([Variable<Double>]) -> Variable<Double> = { leaves in
      var nodes = leaves
      for (op, a, b) in recipe {
        let x = nodes[a]
        let y = nodes[b]
        let node: Variable<Double>
        switch op {
        case 0: node = x + y
        case 1: node = x - y
        case 2: node = x * y
        case 3: node = x / (y * y + 1)
        case 4: node = tanh(x)
        case 5: node = sigmoid(x) * y
        case 6: node = exp(tanh(x))
        case 7: node = softplus(x) + 0.5 * x
        default: node = sqrt(x * x + 1)
        }
        nodes.append(node)
      }
      // every node contributes, so unused branches are differentiated too
      return nodes[leaves.count...].reduce(Variable(0.0)) { $0 + $1.mean() }
    }
    return (inputs, build)
  }

  @Test("200 random graphs agree with finite differences", arguments: 0..<200)
  func randomGraph(seed: Int) {
    let (inputs, build) = Self.graph(seed: UInt64(seed))
    let report = checkGradients(at: inputs, build)
    #expect(report.passed, "graph \(seed): \(report)")
  }
}
