import BackpropTensor

extension Variable {
  /// Records `operation` applied to `inputs`, whose forward result is `value`, and returns the
  /// result: a variable that gradients flow back through. When no input requires a gradient, or
  /// inside ``withoutGradients(_:)``, it returns a constant holding `value` instead, so constant
  /// sub-expressions cost no graph.
  ///
  /// This is how every operation, built in or your own, puts itself on the tape; compute `value`
  /// with tensor functions first (see ``DifferentiableOperation``).
  ///
  /// Generic over the operation, so that each operation's call site gets its own specialisation,
  /// in which the first-order pullback closure (``TensorPullback``) is formed.
  ///
  /// - Parameters:
  ///   - operation: The operation, with its constant parameters.
  ///   - inputs: Its inputs, in the order its pullback reads them: `Operands(x)`, `Operands(x, y)`
  ///     or `Operands([x, y, z])`.
  ///   - value: The forward result.
  @inline(__always)
  public static func record<Operation: DifferentiableOperation>(
    _ operation: Operation, _ inputs: consuming Operands<Variable>, value: consuming Tensor<Scalar>
  ) -> Variable where Operation.Scalar == Scalar {
    let result = record(operation, nodes: NodeInputs(inputs), value: value)
    // The inputs' variables stay alive until the node that reads them is on the tape: a
    // temporary input (`relu(matmul(x, w))`) could otherwise die after its last use, and its
    // node, still the newest of its graph, be freed before the new node keeps it.
    withExtendedLifetime(inputs) {}
    return result
  }

  /// ``record(_:_:value:)`` for one input, which the caller keeps alive: its node is read without
  /// a retain and a release of the variable.
  @inline(__always)
  static func record<Operation: DifferentiableOperation>(
    _ operation: Operation, _ x: Variable, value: consuming Tensor<Scalar>
  ) -> Variable where Operation.Scalar == Scalar {
    record(operation, nodes: NodeInputs(x.node), value: value)
  }

  /// ``record(_:_:value:)`` for two inputs, which the caller keeps alive.
  @inline(__always)
  static func record<Operation: DifferentiableOperation>(
    _ operation: Operation, _ x: Variable, _ y: Variable, value: consuming Tensor<Scalar>
  ) -> Variable where Operation.Scalar == Scalar {
    record(operation, nodes: NodeInputs(x.node, y.node), value: value)
  }

  /// Records `operation` on the nodes `nodes`, which the caller keeps alive (see
  /// ``record(_:_:value:)``).
  @inline(__always)
  static func record<Operation: DifferentiableOperation>(
    _ operation: Operation, nodes: NodeInputs<Scalar>, value: consuming Tensor<Scalar>
  ) -> Variable where Operation.Scalar == Scalar {
    let mode = GradientMode.current
    let origin = mode.detectsAnomalies ? checkedOrigin(of: operation.name, value: value) : nil
    // One pass over the inputs' nodes: whether any requires a gradient, the sum of their versions,
    // and a graph whose newest node is an input (see `Graph`).
    var requiresGrad = false
    var carriesTangent = false
    var inputVersions: UInt32 = 0
    var joined: Unmanaged<Graph<Scalar>>? = nil
    for position in nodes.indices {
      let input = nodes[position]
      requiresGrad = requiresGrad || input.pointee.requiresGrad
      carriesTangent = carriesTangent || input.pointee.carriesTangent
      inputVersions &+= input.pointee.version
      if input.pointee.hasOperation && isNewest(input) { joined = input.pointee.graph }
    }
    guard mode.isRecording, requiresGrad else {
      let result = Variable(value: consume value, isParameter: false, counter: mode.counter)
      if carriesTangent && mode.propagatesTangents {
        pushTangent(of: operation, on: nodes, to: result, mode: mode)
      }
      nodes.more?.deallocate()
      return result
    }
    let annotations =
      origin != nil || mode.counter != nil
      ? Annotations(name: nil, origin: origin, counter: mode.counter) : nil
    let graph = joined ?? Graph.make(expectingMore: true)
    let (node, position) = graph._withUnsafeGuaranteedRef { $0.claimNextPosition() }
    node.initialize(
      to: Node(
        value: value, isParameter: false, hasOperation: true, grad: nil, operation: operation,
        tensorPullback: operation._tensorPullback, inputs: nodes, graph: graph, annotations: annotations,
        storedPosition: Int32(truncatingIfNeeded: position), recordedInputVersions: inputVersions))
    for position in nodes.indices where !belongs(nodes[position], to: graph) {
      nodes[position].pointee.foreignUses += 1
      let readsResult = nodes[position].pointee.hasOperation
      let readsHooked = nodes[position].pointee.hasGradientHook
      graph._withUnsafeGuaranteedRef { graph in
        graph.foreignInputCount += 1
        if readsResult { graph.readsForeignResults = true }
        if readsHooked { graph.readsHookedParameters = true }
      }
    }
    let result = Variable(showing: node)
    if carriesTangent && mode.propagatesTangents {
      pushTangent(of: operation, on: nodes, to: result, mode: mode)
    }
    return result
  }
}

/// Where an operation is being recorded, in anomaly-detection mode; stops with an anomaly report
/// if its forward value is not finite.
///
/// Out of line: `Backtrace` is resilient, and a caller that holds one on its stack looks up its
/// metadata (and that of its parts) on every call, whether it captures a backtrace or not — about
/// a twentieth of recording an operation.
@inline(never)
func checkedOrigin<Scalar>(of name: String, value: Tensor<Scalar>) -> OperationOrigin? {
  let origin = OperationOrigin.capture()
  if !value.isFinite {
    anomaly("forward of \(name) produced a non-finite value, shape \(value.shape)", origin)
  }
  return origin
}
