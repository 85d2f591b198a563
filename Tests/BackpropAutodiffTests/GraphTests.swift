import Testing

@testable import BackpropAutodiff
@testable import BackpropTensor

@Suite("Graph: where nodes live and when they die")
struct GraphTests {
  @Test("A node joins the graph of an input that is its graph's newest node, else starts its own")
  func membership() {
    let x = Variable(0.5, requiresGrad: true)
    let h = x * 2  // reads only a leaf: a graph of its own
    let a = h + 1  // reads h, the newest of its graph: joins it
    let b = h * 3  // h is no longer the newest: a new graph
    let c = a + b  // a and b are both newest; joins one of them
    #expect(!belongs(h.node, to: x.node.pointee.graph))
    #expect(belongs(a.node, to: h.node.pointee.graph) && a.node.pointee.position == 1)
    #expect(!belongs(b.node, to: h.node.pointee.graph) && b.node.pointee.position == 0)
    #expect(belongs(c.node, to: a.node.pointee.graph) || belongs(c.node, to: b.node.pointee.graph))
    #expect(h.node.pointee.foreignUses == 1 && x.node.pointee.foreignUses == 1)  // b reads h; h reads x
  }

  @Test("Nodes past the first chunk keep their addresses, and a graph's positions are its recording order")
  func addresses() {
    let x = Variable(1.0, requiresGrad: true)
    var chain = [x * 1.5]
    for _ in 0..<200 { chain.append(chain[chain.count - 1] + 0.25) }  // 8 + 64 + 64 + 64 + 1 positions
    let graph = chain[0].node.pointee.graph
    #expect(graph._withUnsafeGuaranteedRef { $0.count } == chain.count)
    for (position, variable) in chain.enumerated() {
      #expect(variable.node.pointee.position == position)
      #expect(graph._withUnsafeGuaranteedRef { $0.address(of: position) } == variable.node)
    }
    #expect(Set(chain.map { UnsafeRawPointer($0.node) }).count == chain.count)
  }

  @Test("An operation of more than two inputs keeps them in an allocation of its node")
  func manyInputs() {
    let parts = (0..<5).map { Variable(Tensor<Double>([Double($0)]), requiresGrad: true) }
    let joined = concatenate(parts, alongAxis: 0)
    let inputs = joined.node.pointee.inputs
    #expect(inputs.count == 5 && inputs.more != nil)
    #expect((0..<5).allSatisfy { inputs[$0] == parts[$0].node })
    joined.sum().backward()
    #expect(parts.allSatisfy { $0.grad == Tensor([1]) })
  }

  @Test("A node is 176 bytes, as PERFORMANCE.md says")
  func nodeSize() {
    #expect(MemoryLayout<Node<Double>>.stride == 176)
    #expect(MemoryLayout<Node<Float>>.stride == 176)
    #expect(MemoryLayout<Variable<Double>>.size == 8)
  }
}
