import BackpropAutodiff
import BackpropTensor

/// A fully connected layer: y = activation(x·W + b), with W of shape `[inputSize, outputSize]`
/// and b of shape `[outputSize]`.
///
/// Its gradients come from the tape: for upstream G at the pre-activation z = x·W + b,
/// ∂L/∂W = xᵀ·G, ∂L/∂b = Σ_batch G and ∂L/∂x = G·Wᵀ — the per-layer rules tutorials derive by
/// hand.
public final class Dense<Scalar: TensorScalar>: Layer, CustomStringConvertible {
  /// The weight matrix, `[inputSize, outputSize]`.
  public let weight: Variable<Scalar>
  /// The bias vector, `[outputSize]`.
  public let bias: Variable<Scalar>
  /// The activation applied after the affine map.
  public let activation: Activation<Scalar>
  /// The layer's name, if any: its parameters are then named `<name>.weight` and `<name>.bias`,
  /// and each call names its results `<name>.z` (x·W + b) and `<name>.a` (after the activation)
  /// for graph pictures and chain-rule traces.
  public let name: String?

  /// A layer with explicit weights.
  ///
  /// - Parameters:
  ///   - weight: `[inputSize, outputSize]`.
  ///   - bias: `[outputSize]`.
  ///   - activation: Applied after x·W + b; `.identity` by default.
  ///   - name: The layer's name (see ``name``); `nil` by default.
  /// - Precondition: the weight has rank 2 and the bias matches its second dimension.
  public init(
    weight: Tensor<Scalar>, bias: Tensor<Scalar>, activation: Activation<Scalar> = .identity,
    name: String? = nil
  ) {
    check(
      weight.rank == 2 && bias.shape == [weight.shape[1]],
      "Dense(weight:bias:): weight \(weight.shape) needs rank 2 and bias [\(weight.rank == 2 ? weight.shape[1] : 0)], got \(bias.shape)"
    )
    self.weight = Variable(weight, requiresGrad: true, name: Self.qualified("weight", name))
    self.bias = Variable(bias, requiresGrad: true, name: Self.qualified("bias", name))
    self.activation = activation
    self.name = name
  }

  /// A layer with randomly initialised weights and zero bias.
  ///
  /// - Parameters:
  ///   - inputSize: Features in.
  ///   - outputSize: Features out.
  ///   - activation: Applied after x·W + b; `.identity` by default.
  ///   - weightInitializer: How W is drawn; `nil` (the default) takes the activation's
  ///     ``Activation/weightInitializer``: He normal for `.relu`, Glorot uniform otherwise.
  ///   - name: The layer's name (see ``name``); `nil` by default.
  ///   - generator: The random source; pass a `SeededRandomNumberGenerator` for reproducible
  ///     weights.
  public init<G: RandomNumberGenerator>(
    inputSize: Int, outputSize: Int, activation: Activation<Scalar> = .identity,
    weightInitializer: Initializer? = nil, name: String? = nil,
    using generator: inout G
  ) {
    let scheme = weightInitializer ?? activation.weightInitializer
    self.weight = Variable(
      scheme.weights(fanIn: inputSize, fanOut: outputSize, using: &generator), requiresGrad: true,
      name: Self.qualified("weight", name))
    self.bias = Variable(Tensor(zeros: [outputSize]), requiresGrad: true, name: Self.qualified("bias", name))
    self.activation = activation
    self.name = name
  }

  /// A layer with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  ///
  /// - Parameters:
  ///   - inputSize: Features in.
  ///   - outputSize: Features out.
  ///   - activation: Applied after x·W + b; `.identity` by default.
  ///   - weightInitializer: How W is drawn; `nil` (the default) takes the activation's
  ///     ``Activation/weightInitializer``.
  ///   - name: The layer's name (see ``name``); `nil` by default.
  public convenience init(
    inputSize: Int, outputSize: Int, activation: Activation<Scalar> = .identity,
    weightInitializer: Initializer? = nil, name: String? = nil
  ) {
    // A seeded generator with a seed from the system, not `SystemRandomNumberGenerator` itself:
    // passing a stack-allocated `SystemRandomNumberGenerator` inout is miscompiled under
    // ThreadSanitizer (swiftlang/swift#66099) and crashed `swift test --sanitize=thread`.
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(
      inputSize: inputSize, outputSize: outputSize, activation: activation,
      weightInitializer: weightInitializer, name: name, using: &generator)
  }

  /// Features in: the first extent of ``weight``.
  public var inputSize: Int { weight.value.shape[0] }
  /// Features out: the second extent of ``weight``.
  public var outputSize: Int { weight.value.shape[1] }

  /// activation(x·W + b) for a batch x of shape `[batch, inputSize]`, or `[…, inputSize]` of
  /// any rank ≥ 2 (a sequence `[batch, time, inputSize]`, say), as PyTorch's `nn.Linear`.
  ///
  /// An unnamed layer records the product and the bias as one operation, which adds the bias in
  /// the product's buffer, and with ``Activation/relu`` the ReLU too, in the same pass; graph
  /// pictures and traces show `matmul`, `+` and the activation, and the values and gradients are
  /// those of the separate operations. A named layer records them separately, so that its `.z`
  /// and `.a` carry the names.
  ///
  /// - Precondition: `input` has rank ≥ 2 and its last extent is `inputSize`; otherwise the
  ///   program stops with a message naming the layer, its sizes and the input's shape.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let inputSize = self.inputSize
    let shape = input.shape
    check(
      shape.count >= 2 && shape[shape.count - 1] == inputSize,
      "\(self): input of shape \(shape); expected [batch, \(inputSize)]")
    guard shape.count == 2 else {
      // The leading axes act as one batch: one product instead of a batched one.
      let rows = shape.dropLast().reduce(1, *)
      let output = self(input.reshaped(to: [rows, inputSize]))
      return output.reshaped(to: shape.dropLast() + [outputSize])
    }
    if name == nil {
      // One node, shown as the steps; the same values and gradients.
      if activation.isReLU { return rectifiedAffine(input, weight, bias: bias) }
      return activation(affine(input, weight, bias: bias))
    }
    let z = matmul(input, weight) + bias
    guard let name else { return activation(z) }
    z.name = name + ".z"
    let a = activation(z)
    if a !== z { a.name = name + ".a" }
    return a
  }

  /// `"<layer>.<parameter>"`, or the parameter's name alone for an unnamed layer.
  private static func qualified(_ parameter: String, _ layer: String?) -> String {
    layer.map { "\($0).\(parameter)" } ?? parameter
  }

  /// `Dense "name" (inputSize → outputSize, activation)`, for messages.
  public var description: String {
    "Dense\(name.map { " \"\($0)\"" } ?? "") (\(inputSize) → \(outputSize), \(activation.name))"
  }

  /// `[weight, bias]`.
  public var parameters: [Variable<Scalar>] { [weight, bias] }

  /// `nn.Linear`'s: `"weight"`, which PyTorch stores transposed as `[outputSize, inputSize]`,
  /// and `"bias"`.
  public var namedTensors: [NamedTensor<Scalar>] {
    [NamedTensor("weight", weight, layout: .transposed), NamedTensor("bias", bias)]
  }
}
