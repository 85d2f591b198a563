import BackpropTensor

// Forward mode: tangents pushed through the operations as they run.
//
// A variable may carry a tangent, a direction of the same shape as its value. When an operation
// reads a variable that carries one, it computes its output's tangent with its tangent rule
// (`DifferentiableOperation.tangent`) and hands it to its result, so tangents flow forward with
// the values and nothing is kept for later. Where no input requires a gradient the rule runs on
// tensors and nothing is recorded; where one does, the rule runs on variables, so the tangent is
// itself a recorded function of the inputs that reverse mode can differentiate.

extension Variable {
  /// Creates a dual variable: a leaf that carries a tangent, a direction along which the
  /// operations applied to it push derivatives forward (PyTorch's `forward_ad.make_dual`).
  ///
  /// Every variable computed from it carries the directional derivative along `tangent` in
  /// ``tangent``:
  ///
  /// ```swift
  /// let x = Variable(Tensor<Double>([1, 2]), tangent: Tensor([1, 0]))
  /// let y = (x * x).sum()
  /// y.tangent!.value   // 2·1·1 + 2·2·0 = 2
  /// ```
  ///
  /// Without `requiresGrad` nothing is recorded: each operation computes its value and its
  /// tangent and keeps nothing, so memory does not grow with the length of the computation. With
  /// `requiresGrad: true` the tangents are recorded as functions of the inputs, so
  /// `y.tangent!.backward()` differentiates a directional derivative (reverse over forward).
  ///
  /// - Parameters:
  ///   - value: The tensor held by the variable.
  ///   - tangent: The direction, of `value`'s shape.
  ///   - requiresGrad: `true` for a parameter (see ``init(_:requiresGrad:name:)-(Tensor<Scalar>,_,_)``).
  ///   - name: An optional name for diagnostics.
  /// - Precondition: `tangent.shape == value.shape`.
  public convenience init(
    _ value: Tensor<Scalar>, tangent: Tensor<Scalar>, requiresGrad: Bool = false, name: String? = nil
  ) {
    check(
      tangent.hasSameShape(as: value),
      "Variable(_:tangent:): the tangent has shape \(tangent.shape), the value has shape \(value.shape)")
    self.init(value, requiresGrad: requiresGrad, name: name)
    attachTangent(Variable(tangent))
  }

  /// The directional derivative this variable carries (PyTorch's `unpack_dual`): its tangent if
  /// it is a dual variable, the tangent its operation computed from its inputs' tangents if one
  /// of them carried one, else `nil`.
  ///
  /// A recorded variable when the computation was recorded (an input required a gradient), so
  /// that reverse mode can differentiate it; a constant otherwise.
  public var tangent: Variable<Scalar>? { tangentCarried(by: node) }

  /// Gives this variable `tangent`, kept in its node's annotations, so that it outlives this
  /// variable: a backward pass recorded later (forward over reverse) reads the node through a new
  /// variable and finds its tangent.
  ///
  /// A recorded tangent that reads this node (a custom rule that reads its output) would keep the
  /// node alive through the node's own annotations; it is dropped when this variable dies
  /// instead, and a node read again after that stops with a message naming the operation.
  func attachTangent(_ tangent: Variable, readsOwnNode: Bool = false) {
    if node.pointee.annotations == nil {
      node.pointee.annotations = Annotations(name: nil, origin: nil, counter: nil)
    }
    let annotations = node.pointee.annotations.unsafelyUnwrapped
    annotations.tangent = tangent
    annotations.tangentDiesWithVariable = readsOwnNode
    node.pointee.carriesTangent = true
  }
}

/// The tangent that `node` carries, if any.
@inline(__always)
func tangentCarried<Scalar>(by node: NodePointer<Scalar>) -> Variable<Scalar>? {
  guard node.pointee.carriesTangent, let tangent = node.pointee.annotations?.tangent else { return nil }
  return unsafeDowncast(tangent, to: Variable<Scalar>.self)
}

/// `variableDied` for a node that carries a tangent. A tangent that dies with the variable (see
/// ``Variable/attachTangent(_:readsOwnNode:)``) is dropped after the node's release: its graph
/// may hold the node's last foreign use, and then frees it.
@inline(never)
func variableWithTangentDied<Scalar>(_ node: NodePointer<Scalar>) {
  var tangent: AnyObject? = nil
  if let annotations = node.pointee.annotations, annotations.tangentDiesWithVariable {
    annotations.tangentDiesWithVariable = false
    tangent = annotations.tangent.take()
  }
  if Graph.isDead(node) { Graph.release(from: node.pointee.graph) }
  withExtendedLifetime(tangent) {}
}

/// Computes the tangent of `result`, the output of `operation` on `nodes` (at least one of which
/// carries a tangent), and gives it to `result`.
///
/// The rule runs on tensors unless an input or a tangent requires a gradient, in which case it
/// runs on variables with tangent propagation off (the operations it records are the tangent's
/// own computation, not new directions).
@inline(never)
func pushTangent<Operation: DifferentiableOperation>(
  of operation: Operation, on nodes: NodeInputs<Operation.Scalar>, to result: Variable<Operation.Scalar>,
  mode: GradientMode
) {
  typealias Scalar = Operation.Scalar
  var tangents = [Variable<Scalar>?]()
  tangents.reserveCapacity(nodes.count)
  var recorded = result.requiresGrad
  for position in nodes.indices {
    let tangent = tangentCarried(by: nodes[position])
    check(
      tangent != nil || !nodes[position].pointee.carriesTangent,
      """
      \(operation.name): input \(position) had a recorded tangent that read its own output, so it \
      died with its variable; keep that variable alive while its node is read again (a backward \
      pass with createGraph: true), or give its operation a tangent rule that reads the inputs
      """)
    recorded = recorded || tangent?.requiresGrad == true
    tangents.append(tangent)
  }
  guard tangents.contains(where: { $0 != nil }) else { return }
  var readsOwnNode = false
  let tangent = withInputs(nodes, of: result) { inputs in
    if recorded && mode.recordsTangents {
      var inner = mode
      inner.propagatesTangents = false
      // Whether the recorded rule reads `result`'s node: every read of it counts as a foreign use
      // or joins its graph.
      let node = result.node
      let (uses, count) = (node.pointee.foreignUses, node.pointee.graph._withUnsafeGuaranteedRef { $0.count })
      defer {
        readsOwnNode =
          node.pointee.foreignUses != uses
          || node.pointee.graph._withUnsafeGuaranteedRef { $0.count } != count
      }
      return GradientMode.with(inner) {
        operation.tangent(Operands(tangents), inputs: PullbackInputs(of: inputs), output: result)
      }
    }
    return Variable(
      operation.tangent(
        Operands(tangents.map { $0?.value }), inputs: PullbackInputs(of: inputs), output: result.value))
  }
  check(
    tangent.value.hasSameShape(as: result.value),
    "\(operation.name): the tangent rule returned shape \(tangent.shape) for an output of shape \(result.shape)"
  )
  if mode.detectsAnomalies && !tangent.value.isFinite {
    anomaly(
      "tangent of \(operation.name) produced a non-finite value, shape \(tangent.shape)", result.origin)
  }
  result.attachTangent(tangent, readsOwnNode: readsOwnNode)
}

/// Calls `body` with a node whose inputs are `nodes`, for ``PullbackInputs``: `result`'s node when
/// it was recorded (its inputs are `nodes`), else a node made for the call, since a constant
/// result's node is a leaf.
private func withInputs<Scalar, R>(
  _ nodes: NodeInputs<Scalar>, of result: Variable<Scalar>, _ body: (NodePointer<Scalar>) -> R
) -> R {
  if result.hasOperation { return body(result.node) }
  var lender = Node(
    value: result.value, isParameter: false, hasOperation: true, grad: nil, operation: NoOperation(),
    tensorPullback: nil, inputs: nodes, graph: result.node.pointee.graph, annotations: nil,
    storedPosition: -1,
    recordedInputVersions: 0)
  return withUnsafeMutablePointer(to: &lender) { body($0) }
}

/// J·v for `operation` from its pullback by transposition: the pullback u ↦ Jᵀu is recorded with
/// a seed variable u, and J·v is the gradient of ⟨Jᵀu, v⟩ = Σᵢ ⟨(Jᵀu)ᵢ, vᵢ⟩ with respect to u,
/// recorded too when `G == Variable`.
///
/// A pullback that leaves the algebra cannot be recorded; it is transposed one output element at
/// a time instead (see ``FirstOrderOperation``), on tensors only.
func transposedTangent<Operation: DifferentiableOperation, G: GradientAlgebra<Operation.Scalar>>(
  of operation: Operation, _ tangents: Operands<G?>, inputs: PullbackInputs<G>, output: G
) -> G {
  typealias Scalar = Operation.Scalar
  check(
    operation.supportsHigherOrder,
    """
    \(operation.name): forward mode transposes the pullback, which this operation cannot record; \
    give it a tangent rule
    """)
  var mode = GradientMode.current
  TranspositionLog.current?.append(operation.name)
  mode.isRecording = true
  mode.propagatesTangents = false
  return GradientMode.with(mode) {
    let seed = Variable(Tensor<Scalar>(zeros: output.shape), requiresGrad: true)
    var needed = InputMask()
    for position in tangents.indices where tangents[position] != nil && position < 64 {
      needed.bits |= 1 << UInt64(position)
    }
    let transposed = operation.pullback(
      seed, inputs: PullbackInputs<Variable<Scalar>>(of: inputs.result), output: output._variable,
      needed: needed)
    var projection: Variable<Scalar>? = nil
    for (gradient, tangent) in zip(transposed, tangents) {
      guard let gradient, let tangent else { continue }
      let term = (gradient * tangent._variable).sum()
      projection = projection.map { $0 + term } ?? term
    }
    guard let projection, projection.requiresGrad else {
      return G._backwardInput(Variable(Tensor<Scalar>(zeros: output.shape)))
    }
    let product =
      G._recordsOperations
      ? Tape.gradients(of: projection, withRespectTo: [seed], seed: Variable(Tensor<Scalar>(1)))[0]
      : Tape.gradients(of: projection, withRespectTo: [seed], seed: Tensor<Scalar>(1))[0]
    return G._backwardInput(product)
  }
}

extension GradientAlgebra {
  /// Repeated to `output`'s shape where broadcasting repeated it; `self` when the shapes are
  /// equal. The tangent of an operand that an operation broadcast.
  func broadcasted(like output: Self) -> Self {
    hasSameShape(as: output) ? self : broadcasted(to: output.shape)
  }
}

/// The sum of the tangent terms that are present: the contributions of two inputs, `nil` where an
/// input carries no tangent.
///
/// - Precondition: at least one term is present (an operation's tangent rule runs only then).
@inline(__always)
func tangentSum<G: GradientAlgebra>(_ first: G?, _ second: G?) -> G {
  switch (first, second) {
  case (let first?, let second?): first + second
  case (let first?, nil): first
  case (nil, let second?): second
  case (nil, nil): preconditionFailure("a tangent rule ran without any tangent")
  }
}
