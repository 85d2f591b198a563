import BackpropTensor

/// The reverse walk over the recorded graph.
enum Tape {
  /// The total gradient of `output` at each of `variables` (zeros where unreachable), as
  /// variables: constants for `G == Tensor`, recorded results for `G == Variable`.
  static func gradients<Scalar, G: GradientAlgebra<Scalar>>(
    of output: Variable<Scalar>, withRespectTo variables: [Variable<Scalar>], seed: G
  ) -> [Variable<Scalar>] {
    let found = run(from: output, seed: seed, targets: variables.map(\.node)) { _, _ in }
    return zip(variables, found).map { variable, gradient in
      gradient?._variable ?? Variable(Tensor(zeros: variable.shape))
    }
  }

  /// Calls `body` with the nodes reachable from `root` through inputs that require a gradient,
  /// inputs before the operations that read them (a valid recording order). Each gets its index
  /// in `tapeIndex`.
  ///
  /// Every node reachable from `root` is alive while the caller keeps `root`'s variable. The
  /// order and the walk's stack live in temporary allocations (on the stack for a small graph,
  /// see ``ScratchList``).
  static func withOrder<Scalar, R>(
    from root: NodePointer<Scalar>, _ body: (borrowing ScratchList<NodePointer<Scalar>>) -> R
  ) -> R {
    // An iterative depth-first post-order. tapeIndex: -1 not seen, -2 expanded (its inputs are
    // on the stack above it), ≥ 0 finished. A node may be pushed twice; the second pop skips it.
    // A node is finished only after all its inputs, because in a DAG none of them can be an
    // expanded node below it on the stack.
    withUnsafeTemporaryAllocation(of: NodePointer<Scalar>.self, capacity: 64) { orderMemory in
      withUnsafeTemporaryAllocation(of: (NodePointer<Scalar>, Bool).self, capacity: 64) { stackMemory in
        var order = ScratchList(lending: orderMemory)
        var stack = ScratchList(lending: stackMemory)
        stack.append((root, false))
        while let (node, expanded) = stack.popLast() {
          if expanded {
            node.pointee.tapeIndex = order.count
            order.append(node)
            continue
          }
          guard node.pointee.tapeIndex == -1 else { continue }
          node.pointee.tapeIndex = -2
          stack.append((node, true))
          // The last input is pushed first, so that the first input is explored first.
          let inputs = node.pointee.inputs
          var position = inputs.count
          while position > 0 {
            position -= 1
            let input = inputs[position]
            if input.pointee.tapeIndex == -1 && input.pointee.requiresGrad { stack.append((input, false)) }
          }
        }
        return body(order)
      }
    }
  }

  /// Walks the tape from `root` in reverse, applying each operation's pullback to the gradient
  /// accumulated for its result. Calls `accumulate` for every parameter leaf reached, and
  /// returns the total gradient of each of `targets` (`nil` where it is unreachable).
  static func run<Scalar, G: GradientAlgebra<Scalar>>(
    from root: Variable<Scalar>, seed: G, targets: [NodePointer<Scalar>],
    accumulate: (NodePointer<Scalar>, G) -> Void
  ) -> [G?] {
    // `root`, borrowed for the whole call, keeps every node on the tape alive. The ordered walk
    // finishes each leaf as soon as its gradient is final, which gradient hooks need; the chain's
    // walk finishes the leaves last.
    if !root.node.pointee.graph._withUnsafeGuaranteedRef({
      $0.readsForeignResults || $0.readsHookedParameters
    }) {
      return walkChain(from: root.node, seed: seed, targets: targets, accumulate: accumulate)
    }
    return withOrder(from: root.node) { order in
      walk(order, seed: seed, targets: targets, accumulate: accumulate)
    }
  }

  /// ``run(from:seed:targets:accumulate:)`` when every node of `root`'s graph reads only nodes of
  /// that graph and leaves: the graph's positions are then a recording order already, and the walk
  /// goes down them from `root` without ordering anything first. A node below `root` that it does
  /// not depend on receives no gradient and is skipped. Leaves get slots past `root`'s position as
  /// their first gradient arrives, and are finished last, in that order.
  ///
  /// The nodes are visited in the order the depth-first walk gives (inputs of a chain come in
  /// recording order there too), so every sum adds the same gradients in the same order.
  @inline(__always)
  private static func walkChain<Scalar, G: GradientAlgebra<Scalar>>(
    from root: NodePointer<Scalar>, seed: G, targets: [NodePointer<Scalar>],
    accumulate: (NodePointer<Scalar>, G) -> Void
  ) -> [G?] {
    let graphReference = root.pointee.graph
    // One strong reference for the walk; `root` keeps the graph alive anyway.
    let graph = graphReference.takeUnretainedValue()
    let top = root.pointee.position
    var found = targets.isEmpty ? [] : [G?](repeating: nil, count: targets.count)
    let detectsAnomalies = GradientMode.current.detectsAnomalies
    // A slot per position up to the root, and one per distinct leaf read (at most one per foreign
    // input recorded).
    return withUnsafeTemporaryAllocation(of: G?.self, capacity: top + 1 + graph.foreignInputCount) { slots in
      withUnsafeTemporaryAllocation(of: NodePointer<Scalar>.self, capacity: 16) { leafMemory in
        var leaves = ScratchList(lending: leafMemory)
        slots.initialize(repeating: nil)
        // Every slot is empty again at the end (each one that was filled was taken), so the slots
        // need no deinitialising pass: that pass destroyed each one through the value witnesses.
        defer { for k in 0..<leaves.count { leaves[k].pointee.tapeIndex = -1 } }
        slots[top] = seed
        var position = top + 1
        while position > 0 {
          position -= 1
          guard let upstream = slots[position].take() else { continue }
          let node = graph.address(of: position)
          if !targets.isEmpty { keep(upstream, of: node, targets: targets, in: &found) }
          if node.pointee.isParameter { accumulate(node, upstream) }
          guard node.pointee.hasOperation else { continue }
          propagate(
            upstream, through: node, detectsAnomalies: detectsAnomalies,
            slot: { input in
              if belongs(input, to: graphReference) { return input.pointee.position }
              guard input.pointee.requiresGrad else { return -1 }
              if input.pointee.tapeIndex < 0 {
                input.pointee.tapeIndex = top + 1 + leaves.count
                leaves.append(input)
              }
              return input.pointee.tapeIndex
            },
            send: { slot, gradient in
              if let sum = slots[slot].take() {
                slots[slot] = sum + gradient
              } else {
                slots[slot] = consume gradient
              }
            })
        }
        for k in 0..<leaves.count {
          guard let gradient = slots[top + 1 + k].take() else { continue }
          if !targets.isEmpty { keep(gradient, of: leaves[k], targets: targets, in: &found) }
          if leaves[k].pointee.isParameter { accumulate(leaves[k], gradient) }
        }
        return found
      }
    }
  }

  /// Keeps `gradient` in `found` at every position where `targets` holds `node`.
  ///
  /// Out of line, so that the walks stay small enough for the pullback call to be inlined; and a
  /// function of its own, not a closure over `found`, whose captured array was checked for
  /// exclusive access at run time on every node (about 80 instructions).
  @inline(never)
  private static func keep<Scalar, G>(
    _ gradient: G, of node: NodePointer<Scalar>, targets: [NodePointer<Scalar>], in found: inout [G?]
  ) {
    for (t, target) in targets.enumerated() where target == node { found[t] = gradient }
  }

  /// ``run(from:seed:targets:accumulate:)`` over the nodes in `order`, whose tape indices it
  /// resets to -1 when done.
  @inline(__always)
  private static func walk<Scalar, G: GradientAlgebra<Scalar>>(
    _ order: borrowing ScratchList<NodePointer<Scalar>>, seed: G, targets: [NodePointer<Scalar>],
    accumulate: (NodePointer<Scalar>, G) -> Void
  ) -> [G?] {
    defer { for i in 0..<order.count { order[i].pointee.tapeIndex = -1 } }
    // No arrays for targets when there are none (`backward()`): each allocation looks up the
    // array's generic type at run time.
    var isTarget = targets.isEmpty ? [] : [Bool](repeating: false, count: order.count)
    for target in targets where target.pointee.tapeIndex >= 0 { isTarget[target.pointee.tapeIndex] = true }
    var found = targets.isEmpty ? [] : [G?](repeating: nil, count: targets.count)
    let detectsAnomalies = GradientMode.current.detectsAnomalies

    // One gradient slot per node, indexed by tape index, in a temporary allocation: on the stack
    // for a small graph. An array would cost an allocation and a run-time look-up of its generic type.
    withUnsafeTemporaryAllocation(of: G?.self, capacity: order.count) { slots in
      slots.initialize(repeating: nil)
      defer { slots.deinitialize() }
      slots[order.count - 1] = seed  // the root is finished last
      var index = order.count
      while index > 0 {
        index -= 1
        guard let upstream = slots[index].take() else { continue }  // released as soon as used
        let node = order[index]
        if !targets.isEmpty && isTarget[index] {
          for (t, target) in targets.enumerated() where target == node { found[t] = upstream }
        }
        if node.pointee.isParameter { accumulate(node, upstream) }
        guard node.pointee.hasOperation else { continue }
        propagate(upstream, through: node, detectsAnomalies: detectsAnomalies, slot: { $0.pointee.tapeIndex })
        {
          slot, gradient in
          // The gradient is consumed: the first one for a slot moves in without a copy.
          if let sum = slots[slot].take() {
            slots[slot] = sum + gradient
          } else {
            slots[slot] = consume gradient
          }
        }
      }
    }
    return found
  }

  /// Applies the pullback of the operation that produced `node` to `upstream`, and hands each
  /// gradient for an input on the tape to `send` with that input's tape index.
  ///
  /// The operation is called where the node stores it, without copying the existential: the
  /// node's address stays valid even when the pullback records new nodes into its graph.
  @inline(__always)
  private static func propagate<Scalar, G: GradientAlgebra<Scalar>>(
    _ upstream: G, through node: NodePointer<Scalar>, detectsAnomalies: Bool,
    slot: (NodePointer<Scalar>) -> Int, send: (Int, consuming G) -> Void
  ) {
    check(
      !G._recordsOperations || node.pointee.operation.supportsHigherOrder,
      "\(node.pointee.operation.name): second and higher derivatives are not supported by this operation; "
        + "differentiate it with createGraph: false")
    // The pullback reads the inputs' values and this one: none may have changed since recording.
    if _slowPath(node.pointee.version != 0 || inputVersions(of: node) != node.pointee.recordedInputVersions) {
      reportChangedValue(node)
    }
    let inputs = node.pointee.inputs
    // Each input's slot on the tape (-1 when it needs no gradient): the first two read once, the
    // rest (no built-in operation has more) asked for again when needed (`slot` gives the same
    // answer every time).
    let count = inputs.count
    let firstSlot = count > 0 ? slot(inputs[0]) : -1
    let secondSlot = count > 1 ? slot(inputs[1]) : -1
    var needed = InputMask()
    if firstSlot >= 0 { needed.bits |= 1 }
    if secondSlot >= 0 { needed.bits |= 2 }
    for i in 2..<max(2, min(count, 64)) where slot(inputs[i]) >= 0 { needed.bits |= 1 << UInt64(i) }
    let inputGradients: Operands<G?>
    // First order: the node's specialised closure (every recorded node has one). In the
    // specialisation for `G == Tensor` the casts are no-ops.
    if G.self == Tensor<Scalar>.self, let tensorPullback = node.pointee.tensorPullback {
      inputGradients =
        tensorPullback(upstream as! Tensor<Scalar>, PullbackInputs(of: node), node.pointee.value, needed)
        as! Operands<G?>
    } else {
      inputGradients = node.pointee.operation.pullback(
        upstream, inputs: PullbackInputs(of: node), output: G._backwardInput(node: node), needed: needed)
    }
    // Consumed, so that each gradient moves to `send` instead of being copied (a retain and a
    // release of its buffer).
    (consume inputGradients).forEachConsumed(expectedCount: count) { i, gradient in
      let target = i == 0 ? firstSlot : i == 1 ? secondSlot : slot(inputs[i])
      // Moved out of the optional: binding it with `let` would copy it.
      var gradient = gradient
      guard target >= 0, let gradient = gradient.take() else { return }
      // An invariant of the catalogue (operations are internal; the catalogue test checks every
      // pullback's shapes), checked in debug builds only: the check copies the gradient twice and
      // the input once, three retains and releases of buffers per gradient.
      assert(
        inputs[i].pointee.value.hasSameShape(as: gradient.tensor),
        "pullback of \(node.pointee.operation.name): gradient shape \(gradient.shape) ≠ input shape "
          + "\(inputs[i].pointee.value.shape)")
      if detectsAnomalies && !gradient.tensor.isFinite {
        anomaly(
          "backward of \(node.pointee.operation.name) produced a non-finite gradient for its input \(i), "
            + "shape \(gradient.shape)", node.pointee.annotations?.origin)
      }
      send(target, consume gradient)
    }
  }

  /// The sum of the current ``Node/version``s of `node`'s inputs (wrapping), to compare with
  /// ``Node/recordedInputVersions``.
  @inline(__always)
  private static func inputVersions<Scalar>(of node: NodePointer<Scalar>) -> UInt32 {
    let inputs = node.pointee.inputs
    var sum: UInt32 = 0
    for position in inputs.indices { sum &+= inputs[position].pointee.version }
    return sum
  }

  /// Stops the backward pass through `node`'s operation, whose input values (or its own) were
  /// changed after the operation was recorded: its gradient would be computed from values the
  /// forward pass never used.
  @inline(never)
  private static func reportChangedValue<Scalar>(_ node: NodePointer<Scalar>) -> Never {
    let variable = Variable.showing(node)
    let inputs = variable.inputs.enumerated().map { position, input in input.name ?? "input \(position)" }
    let what =
      node.pointee.version != 0
      ? "its result\(variable.name.map { " " + $0 } ?? "")"
      : "one of its inputs (\(inputs.joined(separator: ", ")))"
    checkFailed(
      "backward(): \(what) was changed after \(node.pointee.operation.name) was recorded, and its gradient would "
        + "use the new value. Build the graph again after changing a value (optimisers update parameters "
        + "after backward(), and the next forward pass records a new graph).")
  }
}
