import BackpropTensor

#if canImport(Runtime)
  import Runtime
#endif

/// An operation of the catalogue: its name and its vector-Jacobian product.
///
/// The pullback is written once, generically over ``GradientAlgebra``. The backward pass calls
/// it with `G == Tensor` (plain first-order gradients, nothing recorded); with
/// `createGraph: true` it calls it with `G == Variable`, so the gradient computation is itself
/// recorded and can be differentiated again.
protocol DifferentiableOperation<Scalar> {
  associatedtype Scalar: TensorScalar
  /// A short name for messages and graph labels, e.g. `"matmul"`.
  var name: String { get }
  /// The gradients with respect to each input, given the gradient `upstream` with respect to
  /// `output`. Entries whose `needed` flag is false may be `nil`.
  func pullback<G: GradientAlgebra<Scalar>>(
    _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
  ) -> Operands<G?>
  /// `false` when the pullback leaves the graph (computes with plain tensors where the gradient
  /// depends on the inputs), so it cannot be recorded for higher-order gradients. A backward
  /// pass with `createGraph: true` through such an operation stops with a message naming it.
  var supportsHigherOrder: Bool { get }
  /// A readable label for graph pictures, e.g. `"matmul (A·Bᵀ)"`; ``name`` by default.
  var label: String { get }
  /// The local derivative ∂result/∂operand for one pair of elements, written with the names
  /// of elements, for chain-rule traces: `"a(1 − a)"` for a sigmoid whose result is named `a`.
  /// `nil` (the default) when the operation has no short formula; the trace then shows the
  /// derivative's symbol and its number only.
  func derivativeFormula(_ term: DerivativeTerm) -> String?
  /// The first-order pullback as a closure (see ``TensorPullback``). The default captures the
  /// operation, which costs a heap context when the operation has stored properties; an
  /// operation with a few distinct values of them can return a closure without a context for
  /// each (see ``MatrixProduct``).
  var tensorPullback: TensorPullback<Scalar> { get }
}

extension DifferentiableOperation {
  /// Every built-in operation's pullback is written over ``GradientAlgebra`` and so can be
  /// recorded.
  var supportsHigherOrder: Bool { true }
  var label: String { name }
  func derivativeFormula(_ term: DerivativeTerm) -> String? { nil }
  /// For an operation without stored properties the closure has no context to allocate. One
  /// with properties (a sum's kept shape) may cost a small context, which measured no slower
  /// than the generic entry point's metadata look-up.
  var tensorPullback: TensorPullback<Scalar> {
    { upstream, inputs, output, needed in
      pullback(upstream, inputs: inputs, output: output, needed: needed)
    }
  }
}

/// The placeholder operation of a leaf, which has no inputs and so no pullback.
struct NoOperation<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "leaf" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    preconditionFailure("a leaf has no pullback")
  }
}

/// An operation's first-order pullback (``DifferentiableOperation/pullback(_:inputs:output:needed:)``
/// with `G == Tensor`), as a closure formed where the operation's concrete type is known.
///
/// Calling the generic `pullback` through the existential goes through a witness thunk into
/// the generic entry point, which looks up `Tensor<Scalar>`'s metadata at run time to choose its
/// specialisation: about 5% of a scalar graph. This closure calls the specialised code directly.
typealias TensorPullback<Scalar: TensorScalar> = (
  _ upstream: Tensor<Scalar>, _ inputs: PullbackInputs<Tensor<Scalar>>, _ output: Tensor<Scalar>,
  _ needed: InputMask
) -> Operands<Tensor<Scalar>?>

/// The inputs of a recorded operation as its pullback reads them: `inputs[i]` is input `i` in the
/// pullback's algebra (its tensor for first-order gradients, the variable itself for higher
/// orders).
///
/// Read on demand from the operation's result, which holds its inputs for as long as the
/// pullback runs. A list of the inputs' tensors, made before each call, copied every tensor (a
/// retain and a release of its buffer) and then the list again for each `inputs[i]`.
struct PullbackInputs<G: GradientAlgebra> {
  /// The variable whose operation's inputs these are; the caller keeps it alive.
  private let result: Unmanaged<Variable<G.Scalar>>

  /// The inputs of the operation that produced `result`, which the caller keeps alive.
  init(of result: Unmanaged<Variable<G.Scalar>>) { self.result = result }

  /// Input `position`, in the pullback's algebra.
  @inline(__always)
  subscript(position: Int) -> G {
    result._withUnsafeGuaranteedRef { result in
      let (first, second) = result.operands.unmanagedPair()
      guard let first else { return G.backwardInput(result.operands[position]) }
      let input = position == 0 ? first : second
      guard let input else { preconditionFailure("PullbackInputs: index \(position) out of range") }
      return input._withUnsafeGuaranteedRef(G.backwardInput)
    }
  }
}

/// Which inputs of an operation need a gradient.
struct InputMask {
  var bits: UInt64 = 0
  subscript(index: Int) -> Bool { bits & (1 << UInt64(index)) != 0 }
}

/// Where an operation was recorded, kept in anomaly-detection mode: a backtrace of the toolchain's
/// `Runtime` module (Linux, macOS 26 and later), symbolicated only when an anomaly is reported.
///
/// A class, so that ``Variable`` keeps a fixed layout: `Backtrace` is a resilient type whose
/// size is known only at run time. Stored as `Any`, so that the library builds for platforms
/// and deployment targets without the module; there the location is unknown.
final class OperationOrigin {
  private let backtrace: Any

  private init(_ backtrace: Any) { self.backtrace = backtrace }

  /// The current backtrace, or `nil` where it cannot be captured.
  static func capture() -> OperationOrigin? {
    #if canImport(Runtime)
      if #available(macOS 26, *) { return (try? Backtrace.capture()).map(OperationOrigin.init) }
    #endif
    return nil
  }

  /// The first source location in the backtrace that is outside the Backprop library itself.
  var location: String {
    #if canImport(Runtime)
      if #available(macOS 26, *), let frames = (backtrace as? Backtrace)?.symbolicated()?.frames {
        for frame in frames {
          guard let location = frame.symbol?.sourceLocation else { continue }
          // Debug builds record absolute paths, release builds paths relative to the package.
          let path = "/" + location.path
          if path.contains("/Sources/BackpropAutodiff/") || path.contains("/Sources/BackpropTensor/") {
            continue
          }
          return "\(location.path):\(location.line)"
        }
      }
    #endif
    return "<unknown location>"
  }
}

extension Variable {
  /// Records `operation` applied to `inputs` with result `value`, or returns a constant when no
  /// input requires a gradient or recording is switched off (``withoutGradients(_:)``).
  ///
  /// Generic over the operation, so that each operation's call site gets its own specialisation,
  /// in which the first-order pullback closure (``TensorPullback``) is formed.
  static func record<Operation: DifferentiableOperation>(
    _ operation: Operation, _ inputs: consuming Operands<Variable>, value: consuming Tensor<Scalar>
  ) -> Variable where Operation.Scalar == Scalar {
    let mode = GradientMode.current
    let origin = mode.detectsAnomalies ? checkedOrigin(of: operation.name, value: value) : nil
    // A closure, not the key path `\.requiresGrad`: in generic code a key path is instantiated at
    // run time on every call, which cost a fifth of a scalar graph.
    guard mode.isRecording,
      inputs.containsUnmanaged(where: { $0._withUnsafeGuaranteedRef { $0.requiresGrad } })
    else {
      return Variable(value: consume value, isParameter: false, counter: mode.counter)
    }
    return Variable(
      value: consume value, operation: operation, tensorPullback: operation.tensorPullback,
      inputs: consume inputs,
      origin: origin, counter: mode.counter)
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

/// Stops with an anomaly report naming where the offending operation was created.
func anomaly(_ message: String, _ origin: OperationOrigin?) -> Never {
  checkFailed("Anomaly: \(message); created at \(origin?.location ?? "<unknown location>")")
}
