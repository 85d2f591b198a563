import Backprop
import Testing

@Suite("graphviz(): the recorded graph as DOT")
struct GraphvizTests {
  /// z = x·y + x at x = 2, y = 3: dz/dx = y + 1 = 4, dz/dy = x = 2.
  func graph() -> (x: Variable<Double>, y: Variable<Double>, z: Variable<Double>) {
    let x = Variable(2.0, requiresGrad: true, name: "x")
    let y = Variable(3.0, requiresGrad: true, name: "y")
    return (x, y, (x * y + x).named("z"))
  }

  /// The node and edge statements of a DOT text, without attributes.
  func statements(_ dot: String) -> (nodes: [String: String], edges: [String]) {
    var nodes: [String: String] = [:]
    var edges: [String] = []
    for line in dot.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
      if line.contains(" -> ") {
        edges.append(String(line.dropLast()))  // the ";"
      } else if let open = line.firstIndex(of: "["), line.hasPrefix("v") || line.hasPrefix("op") {
        let id = line[..<open].trimmingCharacters(in: .whitespaces)
        let label = line.split(separator: "label=\"", maxSplits: 1)[1].split(separator: "\"", maxSplits: 1)[0]
        nodes[id] = String(label)
      }
    }
    return (nodes, edges)
  }

  @Test("A known graph has one node per variable and operation, and the edges in input order")
  func knownGraph() {
    let (x, _, z) = graph()
    let dot = z.graphviz()
    #expect(dot.hasPrefix("digraph backprop {\n"))
    #expect(dot.hasSuffix("}\n"))
    let (nodes, edges) = statements(dot)
    #expect(Set(nodes.keys) == ["v0", "v1", "v2", "op2", "v3", "op3"])
    #expect(nodes["v0"] == #"x\nshape []\nvalue 2\ngrad 4"#)
    #expect(nodes["v1"] == #"y\nshape []\nvalue 3\ngrad 2"#)
    #expect(nodes["v2"] == #"v2\nshape []\nvalue 6\ngrad 1"#)
    #expect(nodes["v3"] == #"z\nshape []\nvalue 8\ngrad 1"#)
    #expect(nodes["op2"] == "*")
    #expect(nodes["op3"] == "+")
    #expect(edges == ["v0 -> op2", "v1 -> op2", "op2 -> v2", "v2 -> op3", "v0 -> op3", "op3 -> v3"])
    #expect(x.grad == nil)  // the picture does not touch grad
  }

  @Test("Tangents are shown next to values in forward mode, and can be switched off")
  func tangents() {
    // dz = dx·y + x·dy + dx with dx = 1, dy = 0: dp = 3, dz = 4.
    let x = Variable(Tensor(2.0), tangent: Tensor(1.0), requiresGrad: true, name: "x")
    let y = Variable(3.0, requiresGrad: true, name: "y")
    let p = (x * y).named("p")
    let z = (p + x).named("z")
    let (nodes, _) = statements(z.graphviz())
    #expect(nodes["v0"] == #"x\nshape []\nvalue 2\ntangent 1\ngrad 4"#)
    #expect(nodes["v1"] == #"y\nshape []\nvalue 3\ngrad 2"#)
    #expect(nodes["v2"] == #"p\nshape []\nvalue 6\ntangent 3\ngrad 1"#)
    #expect(nodes["v3"] == #"z\nshape []\nvalue 8\ntangent 4\ngrad 1"#)
    #expect(!z.graphviz(showsTangents: false).contains("tangent"))
    #expect(p.tangent != nil)
  }

  @Test("Constants, large tensors and labels of transposed products")
  func details() {
    let w = Variable(Tensor<Double>(repeating: 0.5, shape: [3, 4]), requiresGrad: true, name: "W")
    let x = Variable(Tensor<Double>([[1, 2, 3]]))
    let y = matmul(x, w).sum()
    let dot = y.graphviz(maxShownElements: 4)
    let (nodes, _) = statements(dot)
    #expect(nodes["v0"] == #"v0\nshape [1, 3]\nvalue [[1, 2, 3]]"#)  // a constant: no gradient
    #expect(nodes["v1"] == #"W\nshape [3, 4]"#)  // 12 elements: value and gradient left out
    #expect(
      dot.contains(
        "v1 [label=\"W\\nshape [3, 4]\", shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9ff\"]"))
    let t = matmul(w, w, transposeB: true).sum()
    #expect(statements(t.graphviz()).nodes["op1"] == "matmul (A·Bᵀ)")
  }

  @Test("Gradients are shown only for a one-element variable, and can be switched off")
  func gradientsShown() {
    let (_, _, z) = graph()
    #expect(!z.graphviz(showsGradients: false).contains("grad"))
    let v = Variable(Tensor<Double>([1, 2]), requiresGrad: true, name: "v")
    #expect(!(v * v).graphviz().contains("grad"))
  }

  @Test("Quotes and backslashes in names are escaped")
  func escaping() {
    let x = Variable(1.0, requiresGrad: true, name: #"a "quoted" \ name"#)
    #expect(x.graphviz().contains(#"label="a \"quoted\" \\ name\nshape []"#))
  }
}
