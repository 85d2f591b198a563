import BackpropTensor

/// The inputs of an operation as its pullback and its tangent rule read them: `inputs[i]` is
/// input `i` in the rule's algebra (its tensor for first-order gradients and untaped tangents, the
/// variable itself when the rule is recorded).
///
/// Read on demand from the inputs' nodes, which are alive while the rule runs. A list of the
/// inputs' tensors, made before each call, would copy every tensor (a retain and a release of its
/// buffer) and then the list again for each `inputs[i]`.
public struct PullbackInputs<G: GradientAlgebra> {
  /// The node whose operation's inputs these are; alive while the rule runs.
  let result: NodePointer<G.Scalar>

  /// The inputs of the operation that produced `result`.
  @inline(__always)
  init(of result: NodePointer<G.Scalar>) { self.result = result }

  /// The number of inputs.
  public var count: Int { result.pointee.inputs.count }

  /// Input `position`, in the rule's algebra.
  @inline(__always)
  public subscript(position: Int) -> G {
    let inputs = result.pointee.inputs
    check(
      position >= 0 && position < inputs.count,
      "pullback: input \(position) out of range for \(inputs.count) inputs")
    return G._backwardInput(node: inputs[position])
  }
}

/// Which inputs of an operation need a gradient.
///
/// One bit per input for the first 64; inputs past those (a concatenation of many parts) always
/// count as needed, and the walk drops the gradients of those that are not.
public struct InputMask {
  var bits: UInt64 = 0
  /// `true` when input `index` needs a gradient.
  public subscript(index: Int) -> Bool { index >= 64 || bits & (1 << UInt64(index)) != 0 }
}

extension GradientAlgebra {
  /// The value a pullback receives for `node`: its tensor (`Tensor`), or a variable showing it
  /// (`Variable`, which records).
  @inline(__always)
  static func _backwardInput(node: NodePointer<Scalar>) -> Self {
    if Self.self == Tensor<Scalar>.self { return unsafeBitCast(node.pointee.value, to: Self.self) }
    return _backwardInput(Variable.showing(node))
  }
}
