import BackpropTensor

/// A node of the tape: a tensor value, and — if an operation produced it — that operation and
/// its inputs, so that ``backward(createGraph:)`` can send gradients back through it.
///
/// Leaves are created by you: `Variable(w, requiresGrad: true)` is a parameter whose gradient
/// accumulates in ``grad``; `Variable(x)` is a constant that gradients do not flow into.
/// Every operation on variables (`+`, `matmul`, ``sigmoid(_:)``,
/// …) returns a new variable that records the operation when any input requires a gradient.
///
/// ```swift
/// let w = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
/// let loss = (w * w).sum()
/// loss.backward()
/// w.grad   // 2w
/// ```
///
/// `Variable` is a reference type: a handle on a node of the tape. The graph is the set of nodes
/// reachable from a result through its inputs; when nothing refers to a result any more, its
/// intermediates are freed (without recursion, so even a chain of 100,000 operations is released
/// in one loop). A variable is not `Sendable`: build and train a model on one thread at a time.
/// Two threads may each train their own model; no setting of the library is global.
public final class Variable<Scalar: TensorScalar> {
  /// The node this variable shows; it lives while this variable does (see `Graph`).
  @usableFromInline let node: NodePointer<Scalar>

  /// The tensor this variable holds. Optimisers update parameters by assigning to it.
  ///
  /// Recorded operations do not copy their inputs: the backward pass reads each input's `value`
  /// when it runs. Update parameters after `backward()` (as `optimizer.step()` does), not between
  /// building a graph and differentiating it.
  ///
  /// Every assignment or in-place change counts in the variable's version, and the backward
  /// pass stops with a message when a value it is about to read changed after it was recorded.
  public var value: Tensor<Scalar> {
    get { node.pointee.value }
    set {
      node.pointee.value = newValue
      node.pointee.version &+= 1
    }
    _modify {
      // In place: `value += x` changes the tensor's buffer without a copy.
      defer { node.pointee.version &+= 1 }
      yield &node.pointee.value
    }
  }

  /// The gradient accumulated by ``backward(createGraph:)`` for a leaf with `requiresGrad`, else `nil`.
  ///
  /// Gradients add up across fan-out and across calls to ``backward(createGraph:)`` until ``zeroGrad()``.
  public var grad: Tensor<Scalar>? {
    get { node.pointee.grad }
    set { node.pointee.grad = newValue }
    _modify { yield &node.pointee.grad }
  }

  /// An optional name, shown in diagnostics.
  public var name: String? {
    get { node.pointee.annotations?.name }
    set {
      if let annotations = node.pointee.annotations {
        annotations.name = newValue
      } else if let newValue {
        node.pointee.annotations = Annotations(name: newValue, origin: nil, counter: nil)
      }
    }
  }

  /// `true` for a leaf created with `requiresGrad: true`.
  package var isParameter: Bool { node.pointee.isParameter }

  /// `true` when an operation produced this variable (``operation`` is not `nil`).
  var hasOperation: Bool { node.pointee.hasOperation }

  /// The operation that produced this variable, or `nil` for a leaf.
  var operation: (any DifferentiableOperation<Scalar>)? { hasOperation ? node.pointee.operation : nil }

  /// Where the operation was recorded; kept only in anomaly-detection mode.
  var origin: OperationOrigin? { node.pointee.annotations?.origin }

  /// Creates a leaf variable.
  ///
  /// - Parameters:
  ///   - value: The tensor held by the variable.
  ///   - requiresGrad: `true` for a parameter whose gradient ``backward(createGraph:)`` accumulates in
  ///     ``grad``; `false` (the default) for a constant.
  ///   - name: An optional name for diagnostics.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public convenience init(_ value: Tensor<Scalar>, requiresGrad: Bool = false, name: String? = nil) {
    self.init(value: value, isParameter: requiresGrad, name: name, counter: GradientMode.current.counter)
  }

  /// Creates a rank-0 leaf variable holding one scalar.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public convenience init(_ scalar: Scalar, requiresGrad: Bool = false, name: String? = nil) {
    self.init(Tensor(scalar), requiresGrad: requiresGrad, name: name)
  }

  /// Creates a leaf: a graph of one node.
  convenience init(
    value: consuming Tensor<Scalar>, isParameter: Bool, name: String? = nil, counter: LiveVariableCounter?
  ) {
    let annotations =
      name != nil || counter != nil ? Annotations(name: name, origin: nil, counter: counter) : nil
    let graph = Graph<Scalar>.make(expectingMore: false)
    let (node, position) = graph._withUnsafeGuaranteedRef { $0.claimNextPosition() }
    node.initialize(
      to: Node(
        value: value, isParameter: isParameter, hasOperation: false, grad: nil, operation: NoOperation(),
        tensorPullback: nil, inputs: NodeInputs(), graph: graph, annotations: annotations,
        storedPosition: Int32(truncatingIfNeeded: position), recordedInputVersions: 0))
    self.init(showing: node)
  }

  /// The variable that shows `node`, which has none yet.
  init(showing node: NodePointer<Scalar>) {
    self.node = node
    node.pointee.handle = .passUnretained(self)
  }

  /// The variable that shows `node`: the one that exists, or a new one.
  static func showing(_ node: NodePointer<Scalar>) -> Variable {
    if let handle = node.pointee.handle { return handle.takeUnretainedValue() }
    return Variable(showing: node)
  }

  deinit { variableDied(node) }

  /// The shape of ``value``.
  public var shape: [Int] { value.shape }

  /// The value's one scalar, as PyTorch's `loss.item()` reads it: `print(loss.scalar)`.
  ///
  /// - Precondition: the variable holds exactly one scalar.
  public var scalar: Scalar {
    check(
      value.scalarCount == 1, "Variable.scalar: the variable has shape \(shape), not one scalar")
    return value.scalar
  }

  /// `true` when gradients flow into this variable: a parameter, or the result of an operation
  /// on at least one such variable.
  public var requiresGrad: Bool { isParameter || hasOperation }

  /// `true` when no operation produced this variable (it was created with `Variable(…)`).
  public var isLeaf: Bool { !hasOperation }

  /// The name of the operation that produced this variable, or `nil` for a leaf.
  public var operationName: String? { operation?.name }

  /// The inputs of the operation that produced this variable (empty for a leaf).
  public var inputs: [Variable] {
    let inputs = node.pointee.inputs
    return inputs.indices.map { Variable.showing(inputs[$0]) }
  }

  /// Sets ``grad`` back to `nil`, so the next ``backward(createGraph:)`` starts from zero.
  @inlinable
  public func zeroGrad() { grad = nil }

  /// Calls `update` with the index, value and gradient of every variable in `parameters` that has
  /// a gradient, in order: the loop of an optimiser's `step()`.
  ///
  /// Each gradient is moved out for the update and back rather than copied (a copy retained and
  /// released its buffer). Inlinable, so that the optimiser's update is specialised and inlined
  /// in the caller; the node is reached through its address, which no exclusivity check guards.
  ///
  /// - Parameters:
  ///   - parameters: The variables to update.
  ///   - update: Changes `value` in place from `gradient`; `index` is the position in
  ///     `parameters`, for per-parameter optimiser state.
  @inlinable
  package static func updateEach(
    _ parameters: [Variable],
    _ update: (_ index: Int, _ value: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void
  ) {
    for index in parameters.indices {
      let node = parameters[index].node
      guard let gradient = node.pointee.grad.take() else { continue }
      update(index, &node.pointee.value, gradient)
      node.pointee.version &+= 1
      node.pointee.grad = consume gradient
    }
  }

  /// A new constant leaf with the same value: gradients do not flow through it.
  public func detached() -> Variable { Variable(value) }
}

/// The rarely used parts of a variable: its name, where it was recorded (anomaly mode), the
/// live-variable counter it is counted by, and a tangent that is a constant (forward mode). The
/// counter counts the variable down when this dies with it.
final class Annotations {
  var name: String?
  let origin: OperationOrigin?
  let counter: LiveVariableCounter?
  /// See ``Variable/tangent``: a `Variable` of the node's scalar type (this class is not
  /// generic).
  var tangent: AnyObject?
  /// `true` when ``tangent`` reads this node, so that keeping it here would keep the node alive
  /// forever: it is dropped when the node's variable dies (see `Variable.attachTangent`).
  var tangentDiesWithVariable = false
  /// See ``Variable/onGradientAccumulated``: a `GradientHook` of the node's scalar type.
  var gradientHook: AnyObject?

  init(name: String?, origin: OperationOrigin?, counter: LiveVariableCounter?) {
    self.name = name
    self.origin = origin
    self.counter = counter
    counter?.increment()
  }

  deinit { counter?.decrement() }
}

extension Variable: CustomStringConvertible {
  /// The value, the name if any, and how the variable was made.
  public var description: String {
    let label = name.map { "\($0) = " } ?? ""
    let origin = operation.map { " (\($0.name))" } ?? (isParameter ? " (parameter)" : "")
    return "Variable(\(label)\(value)\(origin))"
  }
}
