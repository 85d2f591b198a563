import BackpropTensor

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
  /// with properties (a sum's kept shape) may cost a small context, which is no slower than the
  /// generic entry point's metadata look-up.
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
/// specialisation. This closure calls the specialised code directly.
typealias TensorPullback<Scalar: TensorScalar> = (
  _ upstream: Tensor<Scalar>, _ inputs: PullbackInputs<Tensor<Scalar>>, _ output: Tensor<Scalar>,
  _ needed: InputMask
) -> Operands<Tensor<Scalar>?>
