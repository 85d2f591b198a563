import BackpropTensor

/// The chain rule written out for one element of one variable: every path from the output down
/// to it, each path's local derivatives with their formulas and numbers, each path's product,
/// and the sum over paths beside the tape's gradient.
///
/// This is the hand derivation of tinhatben's and Rohan & Lenny's articles done by the library:
///
/// ```
/// dJ/dV[0, 0]: 2 paths; their sum -0.0786482 equals the tape's gradient -0.0786482 ✓
/// path 1: J ← v14 ← v13 ← (a_o − y) ← a_o ← h_o ← v7 ← V[0, 0]
///   = 0.5 · 1 · (a_o − y) · 1 · a_o(1 − a_o) · 1 · a[0, 0]
///   = 0.5 · 1 · (-0.487547) · 1 · 0.249845 · 1 · 0.645656
///   = -0.0393241
/// …
/// ```
///
/// Make one with ``chainRuleTrace(of:withRespectTo:at:maxPaths:)``. Name the variables you care
/// about with ``Variable/named(_:)`` so that the trace reads like the article.
public struct ChainRuleTrace: CustomStringConvertible, Sendable {
  /// One local derivative along a path: ∂result/∂operand for one element of each.
  public struct Factor: Sendable, Equatable {
    /// The derivative's symbol, e.g. `"∂a_o/∂h_o"`.
    public let symbol: String
    /// The operation's formula for it in terms of element names, e.g. `"a_o(1 − a_o)"`, or
    /// `nil` when the operation has none.
    public let formula: String?
    /// Its value at the recorded point.
    public let value: Double
  }

  /// One path from the output down to the element, through one element of each variable.
  public struct Path: Sendable, Equatable {
    /// The element names along the path, from the output to the element traced.
    public let elements: [String]
    /// The local derivatives along the path, from the output downwards.
    public let factors: [Factor]
    /// The product of the factors: this path's share of the gradient.
    public var product: Double { factors.reduce(1) { $0 * $1.value } }
  }

  /// The name of the output, e.g. `"J"`.
  public let output: String
  /// The name of the element traced, e.g. `"w5"` or `"W[0, 1]"`.
  public let element: String
  /// Every path whose local derivatives are all non-zero. A path through a local derivative
  /// of exactly 0 — a ReLU that is off, an input that is 0 — adds nothing and is left out.
  public let paths: [Path]
  /// The tape's gradient d(output)/d(element), from a backward pass.
  public let tapeGradient: Double

  /// The sum of the paths' products: the multivariate chain rule's answer.
  public var sumOverPaths: Double { paths.reduce(0) { $0 + $1.product } }

  /// `true` when the sum over paths equals the tape's gradient within `tolerance` relative to
  /// the larger magnitude (the two sum the same products in different orders).
  public func agreesWithTape(tolerance: Double = 1e-9) -> Bool {
    Swift.abs(sumOverPaths - tapeGradient)
      <= tolerance * Swift.max(1, Swift.abs(sumOverPaths), Swift.abs(tapeGradient))
  }

  /// The trace as text: a summary line, then each path with its formulas, its numbers and its
  /// product.
  public var description: String {
    let count = paths.count == 1 ? "1 path" : "\(paths.count) paths"
    let verdict = agreesWithTape() ? "equals" : "DIFFERS FROM"
    var lines = [
      "d\(output)/d\(element): \(count); their sum \(formatSignificant(sumOverPaths)) \(verdict) the tape's "
        + "gradient \(formatSignificant(tapeGradient)) \(agreesWithTape() ? "✓" : "✗")"
    ]
    for (number, path) in paths.enumerated() {
      lines.append("path \(number + 1): " + path.elements.joined(separator: " ← "))
      lines.append("  = " + path.factors.map { $0.formula ?? $0.symbol }.joined(separator: " · "))
      lines.append(
        "  = " + path.factors.map { parenthesized(formatSignificant($0.value)) }.joined(separator: " · "))
      lines.append("  = " + formatSignificant(path.product))
    }
    return lines.joined(separator: "\n")
  }
}

/// The chain rule for d(output)/d(variable[index]), path by path, checked against the tape.
///
/// The trace walks the recorded graph from `output` down to the element. For every operation on
/// the way it asks the operation's own vector-Jacobian product for the local derivative of one
/// result element with respect to one operand element (a one-hot upstream gradient), so each
/// factor is exactly what ``Variable/backward(createGraph:)`` uses. The product along a path is that path's
/// contribution; the sum over all paths is the gradient, which the trace compares with the
/// tape's.
///
/// ```swift
/// let trace = chainRuleTrace(of: loss, withRespectTo: network.output.weight, at: [0, 0])
/// print(trace)
/// ```
///
/// - Parameters:
///   - output: A one-element variable, such as a loss.
///   - variable: The variable to trace, usually a parameter.
///   - index: The element of `variable`; may be omitted when it holds one element.
///   - maxPaths: The number of paths after which the trace stops; 1,000 by default.
/// - Returns: The paths, their factors and products, and the tape's gradient.
/// - Precondition: `output` holds one element, `index` is a valid index of `variable`, and
///   there are at most `maxPaths` paths with non-zero factors.
public func chainRuleTrace<Scalar>(
  of output: Variable<Scalar>, withRespectTo variable: Variable<Scalar>, at index: [Int] = [],
  maxPaths: Int = 1000
) -> ChainRuleTrace {
  chainRuleTrace(
    of: output, withRespectTo: variable, at: index, maxPaths: maxPaths, stopsAboveMaxPaths: true)!
}

/// ``chainRuleTrace(of:withRespectTo:at:maxPaths:)``; when there are more than `maxPaths` paths,
/// it stops with a message if `stopsAboveMaxPaths`, else returns `nil`.
func chainRuleTrace<Scalar>(
  of output: Variable<Scalar>, withRespectTo variable: Variable<Scalar>, at index: [Int], maxPaths: Int,
  stopsAboveMaxPaths: Bool
) -> ChainRuleTrace? {
  check(
    output.value.scalarCount == 1,
    "chainRuleTrace(of:withRespectTo:): the output has shape \(output.shape); it needs a single element")
  let target: Int
  if index.isEmpty && variable.value.scalarCount == 1 {
    target = 0
  } else {
    check(
      index.count == variable.value.rank && zip(index, variable.shape).allSatisfy { $0 >= 0 && $0 < $1 },
      "chainRuleTrace(of:withRespectTo:at:): index \(index) is not an element of shape \(variable.shape)")
    target = flatIndex(index, in: variable.shape)
  }

  let (output, nodes) = output.shownGraph()
  let names = GraphNames(nodes)
  // The variables that `variable` is reachable from: only their inputs are followed.
  var leadsToTarget = Set<ObjectIdentifier>()
  for node in nodes
  where node === variable || node.inputs.contains(where: { leadsToTarget.contains(ObjectIdentifier($0)) }) {
    leadsToTarget.insert(ObjectIdentifier(node))
  }

  var paths: [ChainRuleTrace.Path] = []
  var elements = [names.name(of: output, element: 0)]
  var factors: [ChainRuleTrace.Factor] = []
  var localDerivatives = LocalDerivatives(names: names, leadsToTarget: leadsToTarget)

  // Depth-first over (variable, element) pairs; the graph is acyclic, so paths are finite.
  var exceeded = false
  func walk(_ node: Variable<Scalar>, _ element: Int) {
    if exceeded { return }
    if node === variable {
      if element == target { paths.append(.init(elements: elements, factors: factors)) }
      return
    }
    for edge in localDerivatives.edges(from: node, element: element) {
      elements.append(names.name(of: edge.operand, element: edge.operandElement))
      factors.append(edge.factor)
      walk(edge.operand, edge.operandElement)
      elements.removeLast()
      factors.removeLast()
      if paths.count > maxPaths {
        check(
          !stopsAboveMaxPaths,
          "chainRuleTrace(of:withRespectTo:): more than \(maxPaths) paths; trace a smaller graph or raise maxPaths"
        )
        exceeded = true
        return
      }
    }
  }
  if leadsToTarget.contains(ObjectIdentifier(output)) { walk(output, 0) }
  if exceeded { return nil }

  let tapeGradient = gradients(of: output, withRespectTo: [variable])[0].value[scalarAt: target]
  return ChainRuleTrace(
    output: names.name(of: output, element: 0), element: names.name(of: variable, element: target),
    paths: paths, tapeGradient: Double(tapeGradient))
}

/// What a chain-rule trace needs to know about an operand element: its variable, its position
/// and the local derivative of the result element with respect to it.
private struct Edge<Scalar: TensorScalar> {
  let operand: Variable<Scalar>
  let operandElement: Int
  let factor: ChainRuleTrace.Factor
}

/// The non-zero local derivatives of result elements with respect to operand elements, each
/// computed once from the operation's pullback with a one-hot upstream gradient.
private struct LocalDerivatives<Scalar: TensorScalar> {
  let names: GraphNames<Scalar>
  let leadsToTarget: Set<ObjectIdentifier>
  var cache: [Key: [Edge<Scalar>]] = [:]

  struct Key: Hashable {
    let node: ObjectIdentifier
    let element: Int
  }

  init(names: GraphNames<Scalar>, leadsToTarget: Set<ObjectIdentifier>) {
    self.names = names
    self.leadsToTarget = leadsToTarget
  }

  mutating func edges(from node: Variable<Scalar>, element: Int) -> [Edge<Scalar>] {
    guard let operation = node.operation else { return [] }
    let operands = node.inputs
    let key = Key(node: ObjectIdentifier(node), element: element)
    if let known = cache[key] { return known }

    var needed = InputMask()
    for (i, input) in operands.enumerated() where leadsToTarget.contains(ObjectIdentifier(input)) {
      needed.bits |= 1 << UInt64(i)
    }
    var oneHot = Tensor<Scalar>(zeros: node.shape)
    oneHot[scalarAt: element] = 1
    let local = operation.pullback(
      oneHot, inputs: PullbackInputs(of: node.node), output: node.value, needed: needed)

    let names = self.names
    let result = names.name(of: node, element: element)
    let outputIndex = multiIndex(element, in: node.shape)
    var edges: [Edge<Scalar>] = []
    for (i, input) in operands.enumerated() where needed[i] {
      guard let gradient = local[i] else { continue }
      for (position, value) in gradient.scalars.enumerated() where value != 0 {
        let term = DerivativeTerm(
          input: i, inputIndex: multiIndex(position, in: input.shape), outputIndex: outputIndex,
          result: result, operandShapes: operands.map(\.shape),
          operandName: { operand, index in
            let variable = operands[operand]
            return names.name(of: variable, element: flatIndex(index, in: variable.shape))
          })
        let symbol = "∂\(result)/∂\(names.name(of: input, element: position))"
        edges.append(
          Edge(
            operand: input, operandElement: position,
            factor: .init(
              symbol: symbol, formula: operation.derivativeFormula(term), value: Double(value))))
      }
    }
    cache[key] = edges
    return edges
  }
}

/// One local derivative ∂result[outputIndex]/∂operand[inputIndex] to be written as a formula by
/// an operation (``DifferentiableOperation/derivativeFormula(_:)``).
public struct DerivativeTerm {
  /// Which operand, 0 for the first.
  public let input: Int
  /// The operand element's index.
  public let inputIndex: [Int]
  /// The result element's index.
  public let outputIndex: [Int]
  /// The result element's name.
  public let result: String
  /// The shapes of all operands.
  public let operandShapes: [[Int]]
  /// Names an element of an operand.
  let operandName: (_ operand: Int, _ index: [Int]) -> String

  /// The name of operand `operand`'s element at the result element's position, following
  /// broadcasting (extents of 1 repeat, missing leading axes are added).
  public func operand(_ operand: Int) -> String {
    let shape = operandShapes[operand]
    let offset = outputIndex.count - shape.count
    let index = shape.indices.map { axis in shape[axis] == 1 ? 0 : outputIndex[offset + axis] }
    return operandName(operand, index)
  }

  /// The name of operand `operand`'s element at `index`.
  public func operand(_ operand: Int, at index: [Int]) -> String { operandName(operand, index) }

  /// The name of this term's own operand element (the one the derivative is taken by).
  public var differentiated: String { operandName(input, inputIndex) }
}

/// `text`, in parentheses when it starts with a minus sign, so that products read clearly.
func parenthesized(_ text: String) -> String { text.hasPrefix("-") ? "(\(text))" : text }

/// `text`, in parentheses when it holds an operator or starts with a minus sign, for use inside
/// a formula: `a_o` stays, `x − y` becomes `(x − y)`.
func grouped(_ text: String) -> String {
  let isGrouped = text.hasPrefix("(") && text.hasSuffix(")")
  let needsGroup = text.hasPrefix("-") || text.contains(where: { "+−·/*".contains($0) })
  return needsGroup && !isGrouped ? "(\(text))" : text
}
