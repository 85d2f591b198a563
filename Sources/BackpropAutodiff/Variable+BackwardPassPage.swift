import BackpropTensor

extension Variable {
  /// A self-contained HTML page that steps through the forward and backward pass of the graph
  /// recorded behind this variable, node by node, with the numbers.
  ///
  /// The page draws the graph (laid out here, top to bottom: no Graphviz needed), each variable
  /// with its name, operation, shape and value. Its buttons and the arrow keys step forward
  /// through the forward pass (values appear in recording order), then backward through the
  /// backward pass, one operation at a time: each step shows the upstream gradient, each input's
  /// local derivative (the operation's formula, e.g. `a(1 − a)`, and its number) and its
  /// contribution, and how contributions add up where a variable is used more than once.
  /// Gradients appear on the nodes as they become final. Selecting a node shows any element of
  /// its value and gradient, and for a small parameter the chain-rule paths of the element (see
  /// ``chainRuleTrace(of:withRespectTo:at:maxPaths:)``) and their sum.
  ///
  /// The step is in the address (`page.html#step=12`). The page needs no network access: the
  /// picture is inline SVG, the style and the script are in the page.
  ///
  /// ```swift
  /// let loss = squaredError(predicted: model(x), target: y).named("J")
  /// try loss.writeBackwardPassPage(to: "output/backward.html", title: "One step")
  /// ```
  ///
  /// A variable that is not one scalar is seeded with ones, as `backward(seed:)` would be, and
  /// the page says so. A variable with nothing recorded behind it gives a page that says so.
  /// A graph of more than ``backwardPassPageNodeLimit`` nodes is drawn with its repeated structure
  /// collapsed: one box per repetition (a layer of a deep network), and the page says so.
  ///
  /// - Parameter title: The page's heading and title.
  /// - Returns: The HTML document.
  public func backwardPassPage(title: String = "The backward pass") -> String {
    BackwardPassPage(root: self).html(title: title)
  }
}

/// The number of nodes above which ``Variable/backwardPassPage(title:)`` draws the graph with its
/// repeated structure collapsed, one box per repetition.
public let backwardPassPageNodeLimit = 300

/// What the page shows, computed from the graph: its nodes, their places, and each step.
struct BackwardPassPage<Scalar: TensorScalar> {
  let root: Variable<Scalar>
  let nodes: [Variable<Scalar>]
  let names: GraphNames<Scalar>

  init(root: Variable<Scalar>) {
    let shown = root.shownGraph()
    self.root = shown.root
    nodes = shown.root.requiresGrad ? shown.nodes : [shown.root]
    names = GraphNames(nodes)
  }

  /// The largest tensor whose every element the page holds; larger ones are summarised.
  static var elementLimit: Int { 256 }

  func html(title: String) -> String {
    let data = JSONWriter()
    data.object {
      data.field("title") { data.string(title) }
      data.field("recorded") { data.bool(root.requiresGrad) }
      data.field("seed") {
        root.value.scalarCount == 1 ? data.null() : data.string("ones of shape \(root.shape)")
      }
      let drawn = nodes.count <= backwardPassPageNodeLimit
      data.field("drawn") { data.bool(drawn) }
      var layout = Self.layOut(drawn ? inputPositions : [])
      if !drawn {
        // The groups' graph: a group reads another when one of its nodes reads one of the other's.
        let (group, labels) = groups()
        var groupInputs = [Set<Int>](repeating: [], count: labels.count)
        for (position, inputs) in inputPositions.enumerated() {
          for input in inputs where group[input] != group[position] {
            groupInputs[group[position]].insert(group[input])
          }
        }
        let groupLayout = Self.layOut(groupInputs.map { $0.sorted() })
        layout = (places: [], width: groupLayout.width, height: groupLayout.height)
        data.field("groups") {
          data.array {
            for (index, label) in labels.enumerated() {
              data.element {
                data.object {
                  data.field("label") { data.string(label) }
                  data.field("members") {
                    data.array {
                      for position in nodes.indices where group[position] == index {
                        data.element { data.number(Double(position)) }
                      }
                    }
                  }
                  data.field("inputs") {
                    data.array {
                      for input in groupInputs[index].sorted() { data.element { data.number(Double(input)) } }
                    }
                  }
                  data.field("x") { data.number(groupLayout.places[index].x) }
                  data.field("y") { data.number(groupLayout.places[index].y) }
                }
              }
            }
          }
        }
      }
      data.field("width") { data.number(layout.width) }
      data.field("height") { data.number(layout.height) }
      data.field("nodes") {
        data.array {
          for (position, node) in nodes.enumerated() {
            let place = drawn ? layout.places[position] : (x: 0, y: 0)
            data.element { describe(node, at: position, place: place, into: data) }
          }
        }
      }
      data.field("forward") {
        data.array {
          for (position, node) in nodes.enumerated() where node.operationName != nil {
            data.element { data.number(Double(position)) }
          }
        }
      }
      data.field("backward") { backwardSteps(into: data) }
      data.field("traces") { traces(into: data) }
    }
    return pageTemplate(title: escapedMarkup(title), data: escapedScriptData(data.text))
  }

  // MARK: Nodes

  func describe(
    _ node: Variable<Scalar>, at position: Int, place: (x: Double, y: Double), into data: JSONWriter
  ) {
    data.object {
      data.field("name") { data.string(names.name(of: node)) }
      data.field("operation") { node.operation.map { data.string($0.label) } ?? data.null() }
      data.field("kind") {
        data.string(
          node.isParameter ? "parameter" : node.requiresGrad ? (node.isLeaf ? "leaf" : "result") : "constant")
      }
      data.field("shape") {
        data.array { for extent in node.shape { data.element { data.number(Double(extent)) } } }
      }
      data.field("inputs") {
        data.array {
          for input in node.inputs { data.element { data.number(Double(names.position(of: input))) } }
        }
      }
      data.field("x") { data.number(place.x) }
      data.field("y") { data.number(place.y) }
      data.field("value") { tensor(node.value, into: data) }
    }
  }

  /// A tensor as the page holds it: all its elements when small, else the first ones and the
  /// norm.
  func tensor(_ value: Tensor<Scalar>, into data: JSONWriter) {
    let scalars = value.scalars
    data.object {
      data.field("count") { data.number(Double(scalars.count)) }
      data.field("elements") {
        data.array {
          for scalar in scalars.prefix(Self.elementLimit) { data.element { data.number(Double(scalar)) } }
        }
      }
      data.field("norm") { data.number(scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()) }
    }
  }

  // MARK: Layout

  /// Places for the nodes of a graph given by each node's inputs (inputs first), in layers from
  /// top to bottom: a result one layer below its lowest input, a leaf one layer above its first
  /// reader; within a layer, in the order of their inputs' places (one barycentre sweep).
  static func layOut(_ inputs: [[Int]]) -> (places: [(x: Double, y: Double)], width: Double, height: Double) {
    let count = inputs.count
    var layer = [Int](repeating: 0, count: count)
    var readers = [[Int]](repeating: [], count: count)
    for position in 0..<count {
      for input in inputs[position] { readers[input].append(position) }
      if !inputs[position].isEmpty {
        layer[position] = 1 + inputs[position].map { layer[$0] }.max()!
      }
    }
    // Leaves sit just above the first node that reads them.
    for position in 0..<count where inputs[position].isEmpty && !readers[position].isEmpty {
      layer[position] = max(0, readers[position].map { layer[$0] }.min()! - 1)
    }
    let layerCount = (layer.max() ?? 0) + 1
    var rows = [[Int]](repeating: [], count: layerCount)
    for position in 0..<count { rows[layer[position]].append(position) }
    var column = [Double](repeating: 0, count: count)
    for (index, row) in rows.enumerated() {
      var ordered = row
      if index > 0 {
        func centre(_ node: Int) -> Double {
          let around = inputs[node].isEmpty ? readers[node] : inputs[node]
          guard !around.isEmpty else { return Double(node) }
          return around.map { column[$0] }.reduce(0, +) / Double(around.count)
        }
        ordered.sort { (centre($0), $0) < (centre($1), $1) }
      }
      for (slot, node) in ordered.enumerated() { column[node] = Double(slot) - Double(ordered.count - 1) / 2 }
    }
    let widest = rows.map(\.count).max() ?? 1
    let (boxWidth, boxHeight) = (190.0, 96.0)
    let width = Double(widest) * boxWidth + 40
    let places = (0..<count).map { position in
      (
        x: width / 2 + column[position] * boxWidth,
        y: 20 + Double(layer[position]) * (boxHeight + 40) + boxHeight / 2
      )
    }
    return (places, width, 20 + Double(layerCount) * (boxHeight + 40))
  }

  /// The nodes' inputs, as positions.
  var inputPositions: [[Int]] { nodes.map { node in node.inputs.map { names.position(of: $0) } } }

  // MARK: Groups

  /// For a graph too large to draw node by node: each node's group, one group per repetition of
  /// the graph's repeated structure (a layer of a deep network), and each group's label.
  ///
  /// The operations, in recording order, are cut into blocks of the shortest period p at which
  /// their names repeat (an operation's name equals the one p places on at 90 % of places, with
  /// at least four repetitions), several repetitions to a block when there would be more than
  /// about 100; without such a period, into about 100 blocks of equal size. A leaf joins the
  /// group of its first reader.
  func groups() -> (group: [Int], labels: [String]) {
    let operations = nodes.indices.filter { nodes[$0].hasOperation }
    let names = operations.map { nodes[$0].operationName ?? "" }
    var period = 0
    for candidate in 1...min(64, max(1, names.count / 4)) where names.count >= 4 * candidate {
      let matches = (0..<(names.count - candidate)).filter { names[$0] == names[$0 + candidate] }.count
      if Double(matches) >= 0.9 * Double(names.count - candidate) {
        period = candidate
        break
      }
    }
    // At most about 100 boxes: a short period's repetitions are taken several to a box.
    let unit = max(period, 1)
    let size = unit * max(1, (operations.count / unit + 99) / 100)
    var group = [Int](repeating: -1, count: nodes.count)
    for (index, operation) in operations.enumerated() { group[operation] = index / size }
    let inputs = inputPositions
    for position in nodes.indices.reversed() where group[position] >= 0 {
      for input in inputs[position] where !nodes[input].hasOperation { group[input] = group[position] }
    }
    let count = (group.max() ?? -1) + 1
    for position in nodes.indices where group[position] < 0 { group[position] = max(0, count - 1) }
    let labels = (0..<max(count, 1)).map { index -> String in
      let members = operations.filter { group[$0] == index }.map { nodes[$0].operationName ?? "" }
      let shown = members.prefix(4).joined(separator: " → ") + (members.count > 4 ? " → …" : "")
      guard period > 0 else { return "part \(index + 1): " + shown }
      let (first, last) = (index * size / period + 1, (index + 1) * size / period)
      return (first == last ? "repetition \(first): " : "repetitions \(first)–\(last): ") + shown
    }
    return (group, labels)
  }

  // MARK: Backward steps

  /// The backward pass replayed on tensors, one step per operation from the output back: the
  /// upstream gradient, and for each input its local derivative (formula and number, for the
  /// output's first element and the first input element it depends on) and contribution.
  func backwardSteps(into data: JSONWriter) {
    guard root.requiresGrad else {
      data.array {}
      return
    }
    var gradient: [ObjectIdentifier: Tensor<Scalar>] = [
      ObjectIdentifier(root): Tensor(repeating: 1, shape: root.shape)
    ]
    data.array {
      withoutGradients {
        for node in nodes.reversed() {
          guard let operation = node.operation, let upstream = gradient[ObjectIdentifier(node)] else {
            continue
          }
          let inputs = node.inputs
          var needed = InputMask()
          for (i, input) in inputs.enumerated() where input.requiresGrad && i < 64 {
            needed.bits |= 1 << UInt64(i)
          }
          let contributions = operation.pullback(
            upstream, inputs: PullbackInputs(of: node.node), output: node.value, needed: needed)
          let local = localDerivatives(of: node, operation: operation, needed: needed)
          data.element {
            data.object {
              data.field("node") { data.number(Double(names.position(of: node))) }
              data.field("upstream") { tensor(upstream, into: data) }
              data.field("terms") {
                data.array {
                  for (i, input) in inputs.enumerated() where needed[i] {
                    guard let contribution = contributions[i] else { continue }
                    let key = ObjectIdentifier(input)
                    let before = gradient[key]
                    gradient[key] = before.map { $0 + contribution } ?? contribution
                    data.element {
                      data.object {
                        data.field("input") { data.number(Double(names.position(of: input))) }
                        data.field("symbol") { local[i].map { data.string($0.symbol) } ?? data.null() }
                        data.field("formula") { local[i]?.formula.map { data.string($0) } ?? data.null() }
                        data.field("local") { local[i].map { data.number($0.value) } ?? data.null() }
                        data.field("contribution") { tensor(contribution, into: data) }
                        data.field("adds") { data.bool(before != nil) }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// For each input, ∂output[0]/∂input[j] at the first element j it depends on: its symbol,
  /// formula and number.
  func localDerivatives(
    of node: Variable<Scalar>, operation: any DifferentiableOperation<Scalar>, needed: InputMask
  ) -> [ChainRuleTrace.Factor?] {
    let inputs = node.inputs
    var oneHot = Tensor<Scalar>(zeros: node.shape)
    oneHot[scalarAt: 0] = 1
    let local = operation.pullback(
      oneHot, inputs: PullbackInputs(of: node.node), output: node.value, needed: needed)
    let result = names.name(of: node, element: 0)
    return inputs.indices.map { i in
      guard needed[i], let gradient = local[i],
        let position = gradient.scalars.firstIndex(where: { $0 != 0 })
      else { return nil }
      let term = DerivativeTerm(
        input: i, inputIndex: multiIndex(position, in: inputs[i].shape),
        outputIndex: multiIndex(0, in: node.shape),
        result: result, operandShapes: inputs.map(\.shape),
        operandName: { operand, index in
          names.name(of: inputs[operand], element: flatIndex(index, in: inputs[operand].shape))
        })
      return ChainRuleTrace.Factor(
        symbol: "∂\(result)/∂\(names.name(of: inputs[i], element: position))",
        formula: operation.derivativeFormula(term), value: Double(gradient[scalarAt: position]))
    }
  }

  // MARK: Traces

  /// The chain-rule paths of every element of every small parameter, and the tape's gradient
  /// for every variable that requires one (which the page's replayed gradients must equal).
  func traces(into data: JSONWriter) {
    let differentiable = nodes.filter(\.requiresGrad)
    let tape =
      root.requiresGrad
      ? gradients(of: root, withRespectTo: differentiable, seed: Tensor(repeating: 1, shape: root.shape))
      : []
    data.object {
      data.field("tape") {
        data.object {
          for (node, gradient) in zip(differentiable, tape) {
            data.field(String(names.position(of: node))) { tensor(gradient.value, into: data) }
          }
        }
      }
      data.field("paths") {
        data.object {
          guard root.requiresGrad, root.value.scalarCount == 1, nodes.count <= 200 else { return }
          for node in nodes where node.isParameter && node.value.scalarCount <= 16 {
            data.field(String(names.position(of: node))) {
              data.array {
                for element in 0..<node.value.scalarCount {
                  data.element {
                    guard
                      let trace = chainRuleTrace(
                        of: root, withRespectTo: node, at: multiIndex(element, in: node.shape), maxPaths: 64,
                        stopsAboveMaxPaths: false)
                    else { return data.null() }
                    data.object {
                      data.field("element") { data.string(trace.element) }
                      data.field("sum") { data.number(trace.sumOverPaths) }
                      data.field("tape") { data.number(trace.tapeGradient) }
                      data.field("paths") {
                        data.array {
                          for path in trace.paths {
                            data.element {
                              data.object {
                                data.field("elements") {
                                  data.array {
                                    for name in path.elements { data.element { data.string(name) } }
                                  }
                                }
                                data.field("factors") {
                                  data.array {
                                    for factor in path.factors {
                                      data.element {
                                        data.object {
                                          data.field("symbol") { data.string(factor.symbol) }
                                          data.field("formula") {
                                            factor.formula.map { data.string($0) } ?? data.null()
                                          }
                                          data.field("value") { data.number(factor.value) }
                                        }
                                      }
                                    }
                                  }
                                }
                                data.field("product") { data.number(path.product) }
                              }
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/// A small JSON writer: numbers that are not finite are written as the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`, which the page's script reads back with `Number`.
final class JSONWriter {
  private(set) var text = ""
  private var needsComma = false

  func object(_ body: () -> Void) {
    text += "{"
    needsComma = false
    body()
    text += "}"
    needsComma = true
  }

  func array(_ body: () -> Void) {
    text += "["
    needsComma = false
    body()
    text += "]"
    needsComma = true
  }

  func field(_ name: String, _ body: () -> Void) {
    if needsComma { text += "," }
    string(name)
    text += ":"
    needsComma = false
    body()
    needsComma = true
  }

  func element(_ body: () -> Void) {
    if needsComma { text += "," }
    needsComma = false
    body()
    needsComma = true
  }

  func string(_ value: String) {
    text += jsonQuoted(value)
    needsComma = true
  }

  func number(_ value: Double) {
    if value.isNaN {
      text += "\"NaN\""
    } else if value.isInfinite {
      text += value > 0 ? "\"Infinity\"" : "\"-Infinity\""
    } else if value == value.rounded() && Swift.abs(value) < 1e15 {
      text += String(Int64(value))
    } else {
      text += "\(value)"
    }
    needsComma = true
  }

  func bool(_ value: Bool) {
    text += value ? "true" : "false"
    needsComma = true
  }

  func null() {
    text += "null"
    needsComma = true
  }
}

/// JSON for a `<script type="application/json">` element: `<` written as `\u003c`, so that no
/// name can close the element (`</script>`) or open a comment.
func escapedScriptData(_ json: String) -> String {
  json.replacingOccurrences(of: "<", with: "\\u003c")
}

extension String {
  /// Every occurrence of `target` replaced (without Foundation).
  fileprivate func replacingOccurrences(of target: Character, with replacement: String) -> String {
    var result = ""
    for character in self {
      if character == target { result += replacement } else { result.append(character) }
    }
    return result
  }
}
