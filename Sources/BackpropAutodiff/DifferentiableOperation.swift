import BackpropTensor

/// An operation the tape can record: its name and its vector-Jacobian product (its *pullback*).
///
/// The built-in operations conform, and so can yours. Write the pullback once, generically over
/// ``GradientAlgebra``: the backward pass calls it with `G == Tensor` for plain first-order
/// gradients, and with `G == Variable` when `createGraph: true` asks for the backward pass to be
/// recorded, so that one pullback serves gradients of every order. Record the operation with
/// ``Variable/record(_:_:value:)``:
///
/// ```swift
/// /// z = x³. ∂z/∂x = 3x².
/// struct Cube: DifferentiableOperation {
///   typealias Scalar = Double
///   var name: String { "cube" }
///   func pullback<G: GradientAlgebra<Double>>(
///     _ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
///   ) -> Operands<G?> {
///     Operands(g * inputs[0] * inputs[0] * 3)
///   }
/// }
///
/// func cube(_ x: Variable<Double>) -> Variable<Double> {
///   Variable.record(Cube(), Operands(x), value: x.value * x.value * x.value)
/// }
/// ```
///
/// A recorded operation appears under its ``name`` in `graphviz()`, chain-rule traces (with its
/// `derivativeFormula(_:)` if it gives one), anomaly reports and gradient checks. It
/// should hold no tensors or variables: the pullback receives the inputs and the output when it
/// runs.
public protocol DifferentiableOperation<Scalar> {
  /// The scalar type of the operation's tensors.
  associatedtype Scalar: TensorScalar
  /// A short name for messages and graph labels, e.g. `"matmul"`.
  var name: String { get }
  /// The gradients with respect to each input, given the gradient `upstream` with respect to
  /// `output`.
  ///
  /// - Parameters:
  ///   - upstream: ∂L/∂output, of the output's shape.
  ///   - inputs: The operation's inputs; `inputs[i]` reads input `i` when asked.
  ///   - output: The operation's result.
  ///   - needed: Which inputs need a gradient; the others' entries may be `nil`.
  /// - Returns: One entry per input, each of that input's shape (or `nil` where not needed).
  func pullback<G: GradientAlgebra<Scalar>>(
    _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
  ) -> Operands<G?>
  /// The output's tangent given the inputs' tangents: how the output moves when the inputs move
  /// along `tangents`, the Jacobian-vector product J·v = Σᵢ ∂output/∂inputᵢ · vᵢ (forward mode).
  ///
  /// Optional: the default derives J·v from ``pullback(_:inputs:output:needed:)`` by
  /// transposition (the pullback u ↦ Jᵀu is linear in u, and J·v is the derivative of ⟨Jᵀu, v⟩
  /// with respect to u), which records the pullback and walks it backward for each operation.
  /// Write one for speed; the catalogue checks built-in rules against their pullbacks.
  ///
  /// Written over ``GradientAlgebra`` like the pullback, it serves untaped forward mode
  /// (`G == Tensor`) and tangents that are themselves recorded (`G == Variable`), which reverse
  /// mode can differentiate.
  ///
  /// - Parameters:
  ///   - tangents: One entry per input: its tangent, of its shape, or `nil` where it is zero.
  ///     At least one is not `nil`.
  ///   - inputs: The operation's inputs.
  ///   - output: The operation's result.
  /// - Returns: The output's tangent, of the output's shape.
  func tangent<G: GradientAlgebra<Scalar>>(_ tangents: Operands<G?>, inputs: PullbackInputs<G>, output: G)
    -> G
  /// `false` when the pullback leaves the algebra (computes with plain tensors where the gradient
  /// depends on the inputs), so it cannot be recorded for higher-order gradients: a backward
  /// pass with `createGraph: true` through the operation then stops with a message naming it.
  /// `true` by default.
  var supportsHigherOrder: Bool { get }
  /// A readable label for graph pictures, e.g. `"matmul (A·Bᵀ)"`; ``name`` by default.
  var label: String { get }
  /// The local derivative ∂result/∂operand for one pair of elements, written with the names
  /// of elements, for chain-rule traces: `"a(1 − a)"` for a sigmoid whose result is named `a`.
  /// `nil` (the default) when the operation has no short formula; the trace then shows the
  /// derivative's symbol and its number only.
  func derivativeFormula(_ term: DerivativeTerm) -> String?
  /// The first-order pullback as a closure. An optimisation hook of the built-in operations: keep
  /// the default, which calls ``pullback(_:inputs:output:needed:)``.
  var _tensorPullback: TensorPullback<Scalar> { get }
}

extension DifferentiableOperation {
  /// `true`: a pullback written in ``GradientAlgebra`` can be recorded.
  public var supportsHigherOrder: Bool { true }
  /// ``name``.
  public var label: String { name }
  /// `nil`: no short formula.
  public func derivativeFormula(_ term: DerivativeTerm) -> String? { nil }
  /// J·v by transposing the pullback: the derivative of ⟨pullback(u), v⟩ with respect to u.
  public func tangent<G: GradientAlgebra<Scalar>>(
    _ tangents: Operands<G?>, inputs: PullbackInputs<G>, output: G
  )
    -> G
  {
    transposedTangent(of: self, tangents, inputs: inputs, output: output)
  }
  /// A closure that calls ``pullback(_:inputs:output:needed:)`` with `G == Tensor`.
  ///
  /// For an operation without stored properties the closure has no context to allocate. One
  /// with properties (a sum's kept shape) may cost a small context, which is no slower than the
  /// generic entry point's metadata look-up.
  public var _tensorPullback: TensorPullback<Scalar> {
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
  func tangent<G: GradientAlgebra<Scalar>>(_ tangents: Operands<G?>, inputs: PullbackInputs<G>, output: G)
    -> G
  {
    preconditionFailure("a leaf has no tangent rule")
  }
}

/// An operation's first-order pullback (``DifferentiableOperation/pullback(_:inputs:output:needed:)``
/// with `G == Tensor`), as a closure formed where the operation's concrete type is known.
///
/// Calling the generic `pullback` through the existential goes through a witness thunk into
/// the generic entry point, which looks up `Tensor<Scalar>`'s metadata at run time to choose its
/// specialisation. This closure calls the specialised code directly.
public typealias TensorPullback<Scalar: TensorScalar> = (
  _ upstream: Tensor<Scalar>, _ inputs: PullbackInputs<Tensor<Scalar>>, _ output: Tensor<Scalar>,
  _ needed: InputMask
) -> Operands<Tensor<Scalar>?>
