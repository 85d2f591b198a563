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
/// `Variable` is a reference type: the graph is the set of variables reachable from a result
/// through its inputs. When nothing refers to a result any more, its intermediates are freed
/// (iteratively, so even a chain of 100,000 operations is released without deep recursion).
/// A variable is not `Sendable`: build and train a model on one thread at a time. Two threads
/// may each train their own model; no setting of the library is global.
public final class Variable<Scalar: TensorScalar> {
  /// The tensor this variable holds. Optimisers update parameters by assigning to it.
  ///
  /// Recorded operations do not copy their inputs: the backward pass reads each input's `value`
  /// when it runs. Update parameters after `backward()` (as `optimizer.step()` does), not between
  /// building a graph and differentiating it.
  ///
  /// Accesses are not checked for exclusivity at run time (a variable belongs to one thread, see
  /// below): every operation reads the values of its operands, and the check would be a
  /// noticeable share of a scalar operation.
  ///
  /// Every assignment or in-place change counts in the variable's version, and the backward
  /// pass stops with a message when a value it is about to read changed after it was recorded.
  @exclusivity(unchecked) public var value: Tensor<Scalar> {
    // No `oldValue`: an in-place change (`value += x`) then still happens in place.
    didSet { version &+= 1 }
  }

  /// The gradient accumulated by ``backward(createGraph:)`` for a leaf with `requiresGrad`, else `nil`.
  ///
  /// Gradients add up across fan-out and across calls to ``backward(createGraph:)`` until ``zeroGrad()``.
  @exclusivity(unchecked) public var grad: Tensor<Scalar>?

  /// An optional name, shown in diagnostics.
  public var name: String? {
    get { annotations?.name }
    set {
      if let annotations {
        annotations.name = newValue
      } else if let newValue {
        annotations = Annotations(name: newValue, origin: nil, counter: nil)
      }
    }
  }

  /// The name, the origin and the live-variable counter: rarely set, so kept out of line, which
  /// leaves one reference to release when an unnamed variable dies instead of three.
  var annotations: Annotations?

  /// `true` for a leaf created with `requiresGrad: true`.
  package let isParameter: Bool

  /// `true` when an operation produced this variable (``operation`` is not `nil`).
  ///
  /// Stored, because asking `operation != nil` copies the existential out and destroys it again:
  /// two calls through its value witnesses, on every node the backward pass visits.
  let hasOperation: Bool

  /// How many times ``value`` has been assigned or changed in place since the variable was made,
  /// PyTorch's version counter. With ``recordedInputVersions`` it detects a value changed between
  /// recording an operation and differentiating through it (the pullback would read the new
  /// value). 32 bits, beside the flags, so that it takes no room of its own.
  @exclusivity(unchecked) var version: UInt32 = 0

  /// The operation that produced this variable; a placeholder (``NoOperation``) for a leaf.
  ///
  /// Not optional, so that the backward pass calls the pullback where it is stored: unwrapping an
  /// optional existential copies it out and destroys it again.
  let recorded: any DifferentiableOperation<Scalar>

  /// The operation's first-order pullback, specialised for its type; `nil` for a leaf. Higher
  /// orders call the generic pullback through ``recorded``.
  let tensorPullback: TensorPullback<Scalar>?

  /// The operation that produced this variable, or `nil` for a leaf.
  var operation: (any DifferentiableOperation<Scalar>)? { hasOperation ? recorded : nil }

  /// The operation's inputs, in order (none for a leaf). Emptied only by the iterative release
  /// in `deinit`, when nothing else can see the variable.
  @exclusivity(unchecked) var operands: Operands<Variable>

  /// `true` once the iterative release has taken ``operands`` (so `deinit` has nothing to do).
  ///
  /// Stored, not `operands.isEmpty`: the deinitialiser runs unspecialised, and switching over the
  /// generic `Operands` there looked up its metadata for every node that died.
  @exclusivity(unchecked) var operandsTaken = false

  /// The sum of the inputs' ``version``s when the operation was recorded (wrapping; versions only
  /// grow, so any change since shows as a different sum).
  let recordedInputVersions: UInt32

  /// Where the operation was recorded; kept only in anomaly-detection mode.
  var origin: OperationOrigin? { annotations?.origin }

  /// Scratch slot used by a running backward pass: -1 when not on a tape being walked.
  ///
  /// Dynamic exclusivity checks are off for this and ``operands``: only `Tape` and `deinit`
  /// touch them, never with overlapping accesses, and the checks would be on every node.
  @exclusivity(unchecked) var tapeIndex = -1

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

  /// Creates a leaf.
  init(value: Tensor<Scalar>, isParameter: Bool, name: String? = nil, counter: LiveVariableCounter?) {
    self.value = value
    self.isParameter = isParameter
    self.hasOperation = false
    self.recorded = NoOperation()
    self.tensorPullback = nil
    self.operands = Operands()
    self.recordedInputVersions = 0
    if name != nil || counter != nil {
      self.annotations = Annotations(name: name, origin: nil, counter: counter)
    }
  }

  /// Creates the result of a recorded operation.
  init(
    value: Tensor<Scalar>, operation: any DifferentiableOperation<Scalar>,
    tensorPullback: @escaping TensorPullback<Scalar>, inputs: Operands<Variable>, inputVersions: UInt32,
    origin: OperationOrigin?, counter: LiveVariableCounter?
  ) {
    self.value = value
    self.isParameter = false
    self.hasOperation = true
    self.recorded = operation
    self.tensorPullback = tensorPullback
    self.recordedInputVersions = inputVersions
    self.operands = inputs
    if origin != nil || counter != nil {
      self.annotations = Annotations(name: nil, origin: origin, counter: counter)
    }
  }

  deinit {
    if hasOperation && !operandsTaken { Self.release(self) }
  }

  /// Releases the graph behind a dying variable iteratively: takes the inputs of every node that
  /// only it refers to, so that no deinit ever recurses into its inputs.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func release(_ dying: Variable) {
    // Each entry owns one retain, moved out of an operands list (see `moveAll(retainedInto:)`).
    // The list starts in a temporary allocation (see `ScratchList`).
    withUnsafeTemporaryAllocation(of: Unmanaged<Variable>.self, capacity: 32) { memory in
      var pending = ScratchList(lending: memory)
      dying.operands.moveAll(retainedInto: &pending)
      while let entry = pending.popLast() {
        var node = entry.takeRetainedValue()
        if node.hasOperation && isKnownUniquelyReferenced(&node) {
          node.operands.moveAll(retainedInto: &pending)
          node.operandsTaken = true
        }
      }
    }
  }

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
  public var inputs: [Variable] { Array(operands) }

  /// Sets ``grad`` back to `nil`, so the next ``backward(createGraph:)`` starts from zero.
  @inlinable
  public func zeroGrad() { grad = nil }

  /// Calls `update` with the index, value and gradient of every variable in `parameters` that has
  /// a gradient, in order: the loop of an optimiser's `step()`.
  ///
  /// The parameters are borrowed, not retained (the array keeps them alive), and each gradient
  /// is moved out for the update and back rather than copied (a copy retained and released its
  /// buffer). Inlinable, so that the optimiser's update is specialised and inlined in the caller,
  /// while the accesses to `value` and `grad`, written in this module, keep
  /// `@exclusivity(unchecked)` (an update inlined from another module was checked at run time).
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
    parameters.withUnsafeBufferPointer { parameters in
      for index in parameters.indices {
        Unmanaged.passUnretained(parameters[index])._withUnsafeGuaranteedRef { parameter in
          guard let gradient = parameter.grad.take() else { return }
          update(index, &parameter.value, gradient)
          parameter.grad = consume gradient
        }
      }
    }
  }

  /// A new constant leaf with the same value: gradients do not flow through it.
  public func detached() -> Variable { Variable(value) }
}

/// The rarely used parts of a variable: its name, where it was recorded (anomaly mode) and the
/// live-variable counter it is counted by. The counter counts the variable down when this dies
/// with it.
final class Annotations {
  var name: String?
  let origin: OperationOrigin?
  let counter: LiveVariableCounter?

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
