import BackpropTensor

extension Variable {
  /// Names this variable for graph pictures, chain-rule traces and diagnostics, and returns it,
  /// so that a name can be given where the variable is made: `let z = (x * w).named("z")`.
  ///
  /// - Parameter name: The name, e.g. `"h_o"`.
  /// - Returns: This variable (not a copy).
  @discardableResult
  public func named(_ name: String) -> Variable {
    self.name = name
    return self
  }

  /// Every variable reachable from this one through operation inputs — constants included —
  /// each once, inputs before the operations that read them; this variable comes last.
  func graphNodes() -> [Variable] {
    var order: [Variable] = []
    var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
    var stack: [(node: Variable, next: Int)] = [(self, 0)]
    while let (node, next) = stack.last {
      let inputs = node.inputs
      if next < inputs.count {
        stack[stack.count - 1].next = next + 1
        if seen.insert(ObjectIdentifier(inputs[next])).inserted { stack.append((inputs[next], 0)) }
      } else {
        stack.removeLast()
        order.append(node)
      }
    }
    return order
  }
}

/// An operation that stands for several, for speed: graph pictures, chain-rule traces and
/// backward-pass pages show the steps it stands for (``Variable/shownGraph()``).
protocol ShownAsSteps<Scalar>: DifferentiableOperation {
  /// Records the steps on `inputs` (the operation's inputs, or their copies) and returns their
  /// result, whose value is the operation's.
  func recordSteps(on inputs: [Variable<Scalar>]) -> Variable<Scalar>
}

extension Variable {
  /// The graph that pictures, traces and pages show: this variable, or, when operations that
  /// stand for several steps (``ShownAsSteps``) are reachable, a copy of the graph above them in
  /// which each such operation is recorded as its steps. Leaves and the nodes that do not read a
  /// copied one are shared; a copied node keeps its operation, value and name, so the copy shows
  /// what the separate steps would have recorded, with the same values and gradients.
  ///
  /// - Returns: The root to show and its ``graphNodes()``.
  func shownGraph() -> (root: Variable, nodes: [Variable]) {
    let nodes = graphNodes()
    guard nodes.contains(where: { $0.operation is any ShownAsSteps<Scalar> }) else { return (self, nodes) }
    var mode = GradientMode.current
    mode.isRecording = true
    return GradientMode.with(mode) {
      var copies: [ObjectIdentifier: Variable] = [:]
      for node in nodes {
        guard let operation = node.operation else { continue }
        let original = node.inputs
        let inputs = original.map { copies[ObjectIdentifier($0)] ?? $0 }
        let copy: Variable
        if let steps = operation as? any ShownAsSteps<Scalar> {
          copy = steps.recordSteps(on: inputs)
        } else if zip(inputs, original).contains(where: { $0 !== $1 }) {
          copy = Variable.record(operation, Operands(inputs), value: node.value)
        } else {
          continue
        }
        copy.name = node.name
        copies[ObjectIdentifier(node)] = copy
      }
      let root = copies[ObjectIdentifier(self)] ?? self
      return (root, root.graphNodes())
    }
  }
}

/// Display names for the variables of one graph, shared by the Graphviz export and the
/// chain-rule trace: a variable's ``Variable/name`` when it has one; else, for a one-element
/// constant, its value (`0.5`); else `v<k>`, where k is the variable's position in
/// ``Variable/graphNodes()``.
struct GraphNames<Scalar: TensorScalar> {
  let nodes: [Variable<Scalar>]
  private let index: [ObjectIdentifier: Int]

  init(_ nodes: [Variable<Scalar>]) {
    self.nodes = nodes
    var index: [ObjectIdentifier: Int] = [:]
    for (position, node) in nodes.enumerated() { index[ObjectIdentifier(node)] = position }
    self.index = index
  }

  /// The position of `node` in ``nodes``.
  func position(of node: Variable<Scalar>) -> Int { index[ObjectIdentifier(node)]! }

  /// The display name of a whole variable.
  func name(of node: Variable<Scalar>) -> String {
    if let name = node.name { return name }
    if !node.requiresGrad && node.value.scalarCount == 1 {
      return formatSignificant(Double(node.value[scalarAt: 0]))
    }
    return "v\(position(of: node))"
  }

  /// The display name of one element: the variable's name, followed by the element's index
  /// unless the variable holds a single element, e.g. `w[0, 1]`.
  func name(of node: Variable<Scalar>, element: Int) -> String {
    let base = name(of: node)
    guard node.value.scalarCount > 1 else { return base }
    return base + "[" + multiIndex(element, in: node.shape).map(String.init).joined(separator: ", ") + "]"
  }
}

/// The flat row-major position of `index` in a tensor of `shape`.
func flatIndex(_ index: [Int], in shape: [Int]) -> Int {
  var flat = 0
  for (axis, extent) in shape.enumerated() { flat = flat * extent + index[axis] }
  return flat
}

/// A tensor as short text for labels: `0.5`, `[1, 2]`, `[[1, 2], [3, 4]]`, with six significant
/// digits per element.
func shortDescription<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) -> String {
  let scalars = tensor.scalars
  guard tensor.rank > 0 else { return formatSignificant(Double(scalars[0])) }
  var position = 0
  func level(_ axis: Int) -> String {
    var parts: [String] = []
    for _ in 0..<tensor.shape[axis] {
      if axis == tensor.rank - 1 {
        parts.append(formatSignificant(Double(scalars[position])))
        position += 1
      } else {
        parts.append(level(axis + 1))
      }
    }
    return "[" + parts.joined(separator: ", ") + "]"
  }
  return level(0)
}
