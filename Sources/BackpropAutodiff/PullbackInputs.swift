import BackpropTensor

/// The inputs of a recorded operation as its pullback reads them: `inputs[i]` is input `i` in the
/// pullback's algebra (its tensor for first-order gradients, the variable itself for higher
/// orders).
///
/// Read on demand from the operation's result, which holds its inputs for as long as the
/// pullback runs. A list of the inputs' tensors, made before each call, would copy every tensor
/// (a retain and a release of its buffer) and then the list again for each `inputs[i]`.
public struct PullbackInputs<G: GradientAlgebra> {
  /// The variable whose operation's inputs these are; the caller keeps it alive.
  private let result: Unmanaged<Variable<G.Scalar>>

  /// The inputs of the operation that produced `result`, which the caller keeps alive.
  init(of result: Unmanaged<Variable<G.Scalar>>) { self.result = result }

  /// The number of inputs.
  public var count: Int { result._withUnsafeGuaranteedRef { $0.operands.count } }

  /// Input `position`, in the pullback's algebra.
  @inline(__always)
  public subscript(position: Int) -> G {
    result._withUnsafeGuaranteedRef { result in
      let (first, second) = result.operands.unmanagedPair()
      guard let first else { return G._backwardInput(result.operands[position]) }
      let input = position == 0 ? first : second
      guard let input else { checkFailed("pullback: input \(position) out of range for 1 input") }
      return input._withUnsafeGuaranteedRef(G._backwardInput)
    }
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
