import BackpropTensor

/// The reverse walk over the recorded graph.
enum Tape {
  /// The total gradient of `output` at each of `variables` (zeros where unreachable), as
  /// variables: constants for `G == Tensor`, recorded results for `G == Variable`.
  static func gradients<Scalar, G: GradientAlgebra<Scalar>>(
    of output: Variable<Scalar>, withRespectTo variables: [Variable<Scalar>], seed: G
  ) -> [Variable<Scalar>] {
    let found = run(from: output, seed: seed, targets: variables) { _, _ in }
    return zip(variables, found).map { variable, gradient in
      gradient?._variable ?? Variable(Tensor(zeros: variable.shape))
    }
  }

  /// Calls `body` with the variables reachable from `root` through inputs that require a
  /// gradient, inputs before the operations that read them (a valid recording order). Each gets
  /// its index in `tapeIndex`.
  ///
  /// The references are unmanaged: every one of them is reachable from `root`, which the caller
  /// keeps alive, and a strong array would cost a retain and a release per node. The order and the
  /// walk's stack live in temporary allocations (on the stack for a small graph, see
  /// ``ScratchList``).
  static func withOrder<Scalar, R>(
    from root: Variable<Scalar>, _ body: (borrowing ScratchList<Unmanaged<Variable<Scalar>>>) -> R
  ) -> R {
    // An iterative depth-first post-order. tapeIndex: -1 not seen, -2 expanded (its inputs are
    // on the stack above it), ≥ 0 finished. A node may be pushed twice; the second pop skips it.
    // A node is finished only after all its inputs, because in a DAG none of them can be an
    // expanded node below it on the stack. The stack holds unmanaged references: every node on
    // it is reachable from `root`, which the caller keeps alive.
    withUnsafeTemporaryAllocation(of: Unmanaged<Variable<Scalar>>.self, capacity: 64) { orderMemory in
      withUnsafeTemporaryAllocation(of: (Unmanaged<Variable<Scalar>>, Bool).self, capacity: 64) {
        stackMemory in
        var order = ScratchList(lending: orderMemory)
        var stack = ScratchList(lending: stackMemory)
        stack.append((.passUnretained(root), false))
        while let (entry, expanded) = stack.popLast() {
          entry._withUnsafeGuaranteedRef { node in
            if expanded {
              node.tapeIndex = order.count
              order.append(entry)
              return
            }
            guard node.tapeIndex == -1 else { return }
            node.tapeIndex = -2
            stack.append((entry, true))
            // The last input is pushed first, so that the first input is explored first.
            let (first, second) = node.operands.unmanagedPair()
            if let first {
              if let second, isUnseen(second) { stack.append((second, false)) }
              if isUnseen(first) { stack.append((first, false)) }
            } else {
              node.operands.forEachUnmanaged(reversed: true) { input in
                if isUnseen(input) { stack.append((input, false)) }
              }
            }
          }
        }
        return body(order)
      }
    }
  }

  /// `true` for an input the walk has not reached yet and that gradients flow into.
  @inline(__always)
  private static func isUnseen<Scalar>(_ input: Unmanaged<Variable<Scalar>>) -> Bool {
    input._withUnsafeGuaranteedRef { $0.tapeIndex == -1 && $0.requiresGrad }
  }

  /// Walks the tape from `root` in reverse, applying each operation's pullback to the gradient
  /// accumulated for its result. Calls `accumulate` for every parameter leaf reached, and
  /// returns the total gradient of each of `targets` (`nil` where it is unreachable).
  static func run<Scalar, G: GradientAlgebra<Scalar>>(
    from root: Variable<Scalar>, seed: G, targets: [Variable<Scalar>],
    accumulate: (Variable<Scalar>, G) -> Void
  ) -> [G?] {
    // Unmanaged: `root`, borrowed for the whole call, keeps them alive.
    withOrder(from: root) { order in walk(order, seed: seed, targets: targets, accumulate: accumulate) }
  }

  /// ``run(from:seed:targets:accumulate:)`` over the nodes in `order`, whose tape indices it
  /// resets to -1 when done.
  @inline(__always)
  private static func walk<Scalar, G: GradientAlgebra<Scalar>>(
    _ order: borrowing ScratchList<Unmanaged<Variable<Scalar>>>, seed: G, targets: [Variable<Scalar>],
    accumulate: (Variable<Scalar>, G) -> Void
  ) -> [G?] {
    defer { for i in 0..<order.count { order[i]._withUnsafeGuaranteedRef { $0.tapeIndex = -1 } } }
    // No arrays for targets when there are none (`backward()`): each allocation looks up the
    // array's generic type at run time.
    var isTarget = targets.isEmpty ? [] : [Bool](repeating: false, count: order.count)
    for target in targets where target.tapeIndex >= 0 { isTarget[target.tapeIndex] = true }
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
        // Borrowed, not `takeUnretainedValue()`: a strong copy of the node (which `root` keeps
        // alive) would cost a retain and a release around each call below.
        order[index]._withUnsafeGuaranteedRef { node in
          if !targets.isEmpty && isTarget[index] {
            for (t, target) in targets.enumerated() where target === node { found[t] = upstream }
          }
          if node.isParameter { accumulate(node, upstream) }
          guard node.hasOperation else { return }
          node.propagate(upstream, detectsAnomalies: detectsAnomalies) { slot, gradient in
            // The gradient is consumed: the first one for a slot moves in without a copy.
            if let sum = slots[slot].take() {
              slots[slot] = sum + gradient
            } else {
              slots[slot] = consume gradient
            }
          }
        }
      }
    }
    return found
  }
}

extension Variable {
  /// Applies the pullback of the operation that produced this variable to `upstream`, and hands
  /// each gradient for an input on the tape to `send` with that input's tape index.
  ///
  /// A method, so that the operation (a `let` of this variable) is called where it is stored,
  /// without copying the existential.
  @inline(__always)
  fileprivate func propagate<G: GradientAlgebra<Scalar>>(
    _ upstream: G, detectsAnomalies: Bool, send: (Int, consuming G) -> Void
  ) {
    check(
      !G._recordsOperations || recorded.supportsHigherOrder,
      "\(recorded.name): second and higher derivatives are not supported by this operation; "
        + "differentiate it with createGraph: false")
    // The pullback reads the inputs' values and this one: none may have changed since recording.
    if _slowPath(version != 0 || inputVersions != recordedInputVersions) { reportChangedValue() }
    // Each input's slot on the tape (-1 when it needs no gradient), read through unmanaged
    // references: this variable holds its operands for the whole call.
    let slots = operands.mapUnmanaged { input in input._withUnsafeGuaranteedRef { $0.tapeIndex } }
    var needed = InputMask()
    for i in slots.indices where i < 64 && slots[i] >= 0 { needed.bits |= 1 << UInt64(i) }
    let inputGradients: Operands<G?>
    // First order: the node's specialised closure (every recorded node has one). In the
    // specialisation for `G == Tensor` the casts are no-ops.
    if G.self == Tensor<Scalar>.self, let tensorPullback {
      inputGradients =
        tensorPullback(upstream as! Tensor<Scalar>, PullbackInputs(of: .passUnretained(self)), value, needed)
        as! Operands<G?>
    } else {
      inputGradients = recorded.pullback(
        upstream, inputs: PullbackInputs(of: .passUnretained(self)), output: G._backwardInput(self),
        needed: needed)
    }
    // The inputs are read as unmanaged references: a copy of the list would retain each of them.
    let inputs = operands.mapUnmanaged { $0 }
    // Consumed, so that each gradient moves to `send` instead of being copied (a retain and a
    // release of its buffer).
    (consume inputGradients).forEachConsumed(pairedWith: inputs) { i, gradient, input in
      // Moved out of the optional: binding it with `let` would copy it.
      var gradient = gradient
      guard slots[i] >= 0, let gradient = gradient.take() else { return }
      // An invariant of the catalogue (operations are internal; the catalogue test checks every
      // pullback's shapes), checked in debug builds only: the check copies the gradient twice and
      // the input once, three retains and releases of buffers per gradient.
      assert(
        input._withUnsafeGuaranteedRef { $0.value.hasSameShape(as: gradient.tensor) },
        "pullback of \(recorded.name): gradient shape \(gradient.shape) ≠ input shape "
          + "\(input.takeUnretainedValue().shape)")
      if detectsAnomalies && !gradient.tensor.isFinite {
        anomaly(
          "backward of \(recorded.name) produced a non-finite gradient for its input \(i), "
            + "shape \(gradient.shape)", origin)
      }
      send(slots[i], consume gradient)
    }
  }
}

extension Variable {
  /// The sum of the inputs' current ``version``s (wrapping), to compare with
  /// ``recordedInputVersions``.
  ///
  /// Read through unmanaged references without a closure: a closure that writes a captured sum
  /// made the caller copy ``operands`` (a retain and a release of every input).
  @inline(__always)
  fileprivate var inputVersions: UInt32 {
    let (first, second) = operands.unmanagedPair()
    guard let first else { return manyInputVersions() }
    let firstVersion = first._withUnsafeGuaranteedRef { $0.version }
    guard let second else { return firstVersion }
    return firstVersion &+ second._withUnsafeGuaranteedRef { $0.version }
  }

  /// ``inputVersions`` for no inputs or more than two (no built-in operation has more).
  @inline(never)
  private func manyInputVersions() -> UInt32 {
    operands.reduce(0) { $0 &+ $1.version }
  }

  /// Stops the backward pass through this variable's operation, whose input values (or its own)
  /// were changed after the operation was recorded: its gradient would be computed from values
  /// the forward pass never used.
  @inline(never)
  fileprivate func reportChangedValue() -> Never {
    let inputs = operands.enumerated().map { position, input in input.name ?? "input \(position)" }
    let what =
      version != 0
      ? "its result\(name.map { " " + $0 } ?? "")" : "one of its inputs (\(inputs.joined(separator: ", ")))"
    checkFailed(
      "backward(): \(what) was changed after \(recorded.name) was recorded, and its gradient would use "
        + "the new value. Build the graph again after changing a value (optimisers update parameters "
        + "after backward(), and the next forward pass records a new graph).")
  }
}
