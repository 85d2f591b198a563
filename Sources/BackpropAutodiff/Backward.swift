import BackpropTensor

extension Variable {
  /// Back-propagates from this one-element variable: walks the tape in reverse and adds
  /// d(self)/d(leaf) to ``grad`` of every leaf with `requiresGrad`.
  ///
  /// Gradients accumulate: across fan-out (a variable used twice receives both contributions)
  /// and across calls. Calling `backward()` twice on the same graph adds the gradient twice —
  /// the graph is kept, as with PyTorch's `retain_graph=True`. Call ``zeroGrad()`` (or an
  /// optimiser's `zeroGrad()`) between steps.
  ///
  /// - Parameter createGraph: record the backward pass itself, so that gradients can be
  ///   differentiated again (see ``gradients(of:withRespectTo:seed:createGraph:)``).
  /// - Precondition: the variable holds exactly one scalar. For other shapes reduce with
  ///   ``sum()`` or ``mean()`` first, or call ``backward(seed:createGraph:)``.
  public func backward(createGraph: Bool = false) {
    precondition(
      value.scalarCount == 1,
      """
      backward(): the variable has shape \(value.shape) (\(value.scalarCount) scalars); \
      backward() needs a single scalar. Reduce it with sum() or mean(), or call backward(seed:) \
      with the upstream gradient.
      """)
    backward(seed: Tensor(repeating: 1, shape: value.shape), createGraph: createGraph)
  }

  /// Back-propagates the upstream gradient `seed` (d(loss)/d(self)) and accumulates into the
  /// ``grad`` of every leaf with `requiresGrad`.
  ///
  /// - Precondition: `seed.shape == shape`.
  public func backward(seed: Tensor<Scalar>, createGraph: Bool = false) {
    precondition(
      seed.shape == value.shape, "backward(seed:): seed shape \(seed.shape) ≠ variable shape \(value.shape)")
    if createGraph {
      accumulate(seed: Variable(seed))
    } else {
      accumulate(seed: seed)
    }
  }

  /// Runs the tape from this variable with `seed` and adds each parameter's gradient to `grad`.
  private func accumulate<G: GradientAlgebra<Scalar>>(seed: G) {
    _ = Tape.run(from: self, seed: seed, targets: []) { leaf, gradient in
      leaf.grad = leaf.grad.map { $0 + gradient.tensor } ?? gradient.tensor
    }
  }
}

/// The gradients of `output` with respect to `variables`, without touching any ``Variable/grad``.
///
/// `variables` may be leaves or intermediate results of the graph; a variable that `output` does
/// not depend on gets a zero gradient.
///
/// - Parameters:
///   - output: The variable to differentiate. Without `seed` it must hold one scalar.
///   - variables: The variables to differentiate with respect to.
///   - seed: The upstream gradient d(loss)/d(output); defaults to ones for a one-element output.
///   - createGraph: `true` records the gradient computation, so the returned variables can be
///     differentiated again (gradients of gradients). `false` returns constants.
/// - Returns: One gradient per variable, each of that variable's shape.
public func gradients<Scalar>(
  of output: Variable<Scalar>, withRespectTo variables: [Variable<Scalar>], seed: Tensor<Scalar>? = nil,
  createGraph: Bool = false
) -> [Variable<Scalar>] {
  precondition(
    seed != nil || output.value.scalarCount == 1,
    """
    gradients(of:withRespectTo:): the output has shape \(output.shape); reduce it with sum() or \
    mean(), or pass seed:
    """)
  let seed = seed ?? Tensor(repeating: 1, shape: output.shape)
  precondition(
    seed.shape == output.shape, "gradients(of:): seed shape \(seed.shape) ≠ output shape \(output.shape)")
  return createGraph
    ? Tape.gradients(of: output, withRespectTo: variables, seed: Variable(seed))
    : Tape.gradients(of: output, withRespectTo: variables, seed: seed)
}

/// The reverse walk over the recorded graph.
enum Tape {
  /// The total gradient of `output` at each of `variables` (zeros where unreachable), as
  /// variables: constants for `G == Tensor`, recorded results for `G == Variable`.
  static func gradients<Scalar, G: GradientAlgebra<Scalar>>(
    of output: Variable<Scalar>, withRespectTo variables: [Variable<Scalar>], seed: G
  ) -> [Variable<Scalar>] {
    let found = run(from: output, seed: seed, targets: variables) { _, _ in }
    return zip(variables, found).map { variable, gradient in
      gradient?.variable ?? Variable(Tensor(zeros: variable.shape))
    }
  }

  /// The variables reachable from `root` through inputs that require a gradient, inputs before
  /// the operations that read them (a valid recording order). Each gets its index in `tapeIndex`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func order<Scalar>(from root: Variable<Scalar>) -> [Variable<Scalar>] {
    // An iterative depth-first post-order. tapeIndex: -1 not seen, -2 expanded (its inputs are
    // on the stack above it), ≥ 0 finished. A node may be pushed twice; the second pop skips it.
    // A node is finished only after all its inputs, because in a DAG none of them can be an
    // expanded node below it on the stack.
    var order: [Variable<Scalar>] = []
    var stack: [(node: Variable<Scalar>, expanded: Bool)] = [(root, false)]
    while let (node, expanded) = stack.popLast() {
      if expanded {
        node.tapeIndex = order.count
        order.append(node)
        continue
      }
      guard node.tapeIndex == -1 else { continue }
      node.tapeIndex = -2
      stack.append((node, true))
      let operands = node.operands
      var i = operands.count
      while i > 0 {  // last input pushed first, so the first input is explored first
        i -= 1
        let input = operands[i]
        if input.tapeIndex == -1 && input.requiresGrad { stack.append((input, false)) }
      }
    }
    return order
  }

  /// Walks the tape from `root` in reverse, applying each operation's pullback to the gradient
  /// accumulated for its result. Calls `accumulate` for every parameter leaf reached, and
  /// returns the total gradient of each of `targets` (`nil` where it is unreachable).
  @_specialize(where Scalar == Float, G == Tensor<Float>)
  @_specialize(where Scalar == Double, G == Tensor<Double>)
  static func run<Scalar, G: GradientAlgebra<Scalar>>(
    from root: Variable<Scalar>, seed: G, targets: [Variable<Scalar>],
    accumulate: (Variable<Scalar>, G) -> Void
  ) -> [G?] {
    let order = order(from: root)
    defer { for node in order { node.tapeIndex = -1 } }
    var slots = [G?](repeating: nil, count: order.count)
    slots[root.tapeIndex] = seed
    var isTarget = [Bool](repeating: false, count: order.count)
    for target in targets where target.tapeIndex >= 0 { isTarget[target.tapeIndex] = true }
    var found = [G?](repeating: nil, count: targets.count)
    let detectsAnomalies = GradientMode.current.detectsAnomalies
    let recordsBackward = G.recordsOperations

    var index = order.count
    while index > 0 {
      index -= 1
      guard let upstream = slots[index] else { continue }
      let node = order[index]
      if isTarget[index] {
        for (t, target) in targets.enumerated() where target === node { found[t] = upstream }
      }
      if node.isParameter { accumulate(node, upstream) }
      slots[index] = nil  // release as soon as it has been used
      guard let operation = node.operation else { continue }
      precondition(
        !recordsBackward || operation.supportsHigherOrder,
        "\(operation.name): second and higher derivatives are not supported by this operation; "
          + "differentiate it with createGraph: false")
      let operands = node.operands
      var needed = InputMask()
      for (i, input) in operands.enumerated() where input.tapeIndex >= 0 {
        needed.bits |= 1 << UInt64(i)
      }
      let inputGradients = operation.pullback(
        upstream, inputs: operands.map(G.backwardInput), output: G.backwardInput(node), needed: needed)
      for (i, input) in operands.enumerated() where needed[i] {
        guard let gradient = inputGradients[i] else { continue }
        precondition(
          gradient.shape == input.shape,
          "pullback of \(operation.name): gradient shape \(gradient.shape) ≠ input shape \(input.shape)"
        )
        if detectsAnomalies && !gradient.tensor.isFinite {
          anomaly(
            "backward of \(operation.name) produced a non-finite gradient for its input \(i), "
              + "shape \(gradient.shape)", node.origin)
        }
        let slot = input.tapeIndex
        slots[slot] = slots[slot].map { $0 + gradient } ?? gradient
      }
    }
    return found
  }
}
