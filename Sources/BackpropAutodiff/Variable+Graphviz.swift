import BackpropTensor

extension Variable {
  /// The graph recorded behind this variable as Graphviz DOT text, one node per variable and
  /// one per operation, with the data flowing from top to bottom (narrow enough for a page).
  ///
  /// Each variable's box shows its name (see ``named(_:)``; unnamed variables are `v<k>`), its
  /// shape, its value when it has at most `maxShownElements` elements, its tangent when it
  /// carries one (forward mode, see ``tangent``), and its gradient.
  /// Parameters are drawn blue, constants grey, and this variable with a bold border. Each
  /// operation is an ellipse with its label (`matmul`, `+`, `sigmoid`, …); its edges come from its
  /// inputs, in order, and go to its result.
  ///
  /// The gradient shown is d(this variable)/d(node), computed by the tape for the picture (this
  /// variable must hold one scalar); it does not read or change any ``grad``. For a parameter
  /// it equals ``grad`` after one ``backward(createGraph:)`` from zero.
  ///
  /// ```swift
  /// let loss = squaredError(predicted: model(x), target: y).named("J")
  /// print(loss.graphviz())   // paste into `dot -Tsvg`, or use Graphviz.write(_:to:formats:)
  /// ```
  ///
  /// - Parameters:
  ///   - maxShownElements: Values and gradients of larger tensors are left out; 8 by default.
  ///   - showsGradients: Show each node's gradient (ignored unless this variable holds one
  ///     scalar); `true` by default.
  ///   - showsTangents: Show the tangent of each node that carries one; `true` by default. A
  ///     recorded tangent (its inputs required gradients) is kept by its variable, so an
  ///     intermediate whose variable died shows none.
  /// - Returns: A `digraph` in the DOT language.
  public func graphviz(maxShownElements: Int = 8, showsGradients: Bool = true, showsTangents: Bool = true)
    -> String
  {
    let (root, nodes) = shownGraph()
    let names = GraphNames(nodes)
    var gradientOf: [ObjectIdentifier: Tensor<Scalar>] = [:]
    if showsGradients && value.scalarCount == 1 && requiresGrad {
      let differentiable = nodes.filter { $0.requiresGrad }
      let found = gradients(of: root, withRespectTo: differentiable)
      for (node, gradient) in zip(differentiable, found) {
        gradientOf[ObjectIdentifier(node)] = gradient.value
      }
    }

    var lines = [
      "digraph backprop {",
      "  rankdir=TB;",
      "  node [fontname=\"Helvetica\", fontsize=11];",
      "  edge [color=\"#555555\"];",
    ]
    for (position, node) in nodes.enumerated() {
      var label = [names.name(of: node), "shape \(node.shape)"]
      if node.value.scalarCount <= maxShownElements {
        label.append("value \(shortDescription(node.value))")
      }
      if showsTangents, let tangent = node.tangent?.value, tangent.scalarCount <= maxShownElements {
        label.append("tangent \(shortDescription(tangent))")
      }
      if let gradient = gradientOf[ObjectIdentifier(node)], gradient.scalarCount <= maxShownElements {
        label.append("grad \(shortDescription(gradient))")
      }
      var style = ["shape=box", "style=\"rounded,filled\""]
      style.append(
        node.isParameter
          ? "fillcolor=\"#dbe9ff\"" : node.requiresGrad ? "fillcolor=\"#ffffff\"" : "fillcolor=\"#eeeeee\"")
      if node === root { style.append("penwidth=2") }
      lines.append(
        "  v\(position) [label=\(quoted(label.joined(separator: "\n"))), \(style.joined(separator: ", "))];")
      if let operation = node.operation {
        lines.append(
          "  op\(position) [label=\(quoted(operation.label)), shape=ellipse, style=filled, "
            + "fillcolor=\"#fff4d6\"];")
        for input in node.inputs { lines.append("  v\(names.position(of: input)) -> op\(position);") }
        lines.append("  op\(position) -> v\(position);")
      }
    }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }
}

/// `text` as a DOT string literal: quotes and backslashes escaped, newlines as `\n`.
private func quoted(_ text: String) -> String {
  var result = "\""
  for character in text {
    switch character {
    case "\"": result += "\\\""
    case "\\": result += "\\\\"
    case "\n": result += "\\n"
    default: result.append(character)
    }
  }
  return result + "\""
}
