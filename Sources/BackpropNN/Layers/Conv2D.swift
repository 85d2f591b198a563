import BackpropAutodiff
import BackpropTensor

/// A 2-D convolution layer: activation(conv2d(x, weight) + bias) over images `[N, C, H, W]`,
/// with PyTorch's layouts, so weights trained there load unchanged.
///
/// Its gradients come from the tape, through `conv2d(_:_:stride:padding:dilation:)`.
public final class Conv2D<Scalar: TensorScalar>: Layer, CustomStringConvertible {
  /// The filters, `[outputChannelCount, inputChannelCount, kernelSize, kernelSize]`.
  public let weight: Variable<Scalar>
  /// One bias per output channel, `[outputChannelCount]`.
  public let bias: Variable<Scalar>
  /// The step between windows.
  public let stride: Int
  /// Zeros added on each side of the input.
  public let padding: Int
  /// The activation applied after the convolution.
  public let activation: Activation<Scalar>
  /// The layer's name, if any: its parameters are then named `<name>.weight` and `<name>.bias`.
  public let name: String?

  /// A layer with randomly initialised filters and zero bias.
  ///
  /// - Parameters:
  ///   - inputChannelCount: C, the channels of the input.
  ///   - outputChannelCount: O, the number of filters.
  ///   - kernelSize: The filters' height and width.
  ///   - stride: The step between windows; 1 by default.
  ///   - padding: Zeros added on each side; 0 by default.
  ///   - activation: Applied after the convolution; `.identity` by default.
  ///   - weightInitializer: How the filters are drawn; `nil` (the default) takes the activation's
  ///     (He normal for ReLU, Glorot uniform otherwise), with fan-in C·k² and fan-out O·k².
  ///   - name: The layer's name; `nil` by default.
  ///   - generator: The random source; pass a `SeededRandomNumberGenerator` for reproducible filters.
  public init<G: RandomNumberGenerator>(
    inputChannelCount: Int, outputChannelCount: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    activation: Activation<Scalar> = .identity, weightInitializer: Initializer? = nil, name: String? = nil,
    using generator: inout G
  ) {
    let scheme = weightInitializer ?? activation.weightInitializer
    let area = kernelSize * kernelSize
    self.weight = Variable(
      scheme.weights(
        shape: [outputChannelCount, inputChannelCount, kernelSize, kernelSize],
        fanIn: inputChannelCount * area,
        fanOut: outputChannelCount * area, using: &generator),
      requiresGrad: true, name: name.map { $0 + ".weight" } ?? "weight")
    self.bias = Variable(
      Tensor(zeros: [outputChannelCount]), requiresGrad: true, name: name.map { $0 + ".bias" } ?? "bias")
    self.stride = stride
    self.padding = padding
    self.activation = activation
    self.name = name
  }

  /// A layer with filters drawn from a generator seeded by the system (not reproducible).
  ///
  /// - Parameters:
  ///   - inputChannelCount: C, the channels of the input.
  ///   - outputChannelCount: O, the number of filters.
  ///   - kernelSize: The filters' height and width.
  ///   - stride: The step between windows; 1 by default.
  ///   - padding: Zeros added on each side; 0 by default.
  ///   - activation: Applied after the convolution; `.identity` by default.
  ///   - weightInitializer: How the filters are drawn; `nil` takes the activation's.
  ///   - name: The layer's name; `nil` by default.
  public convenience init(
    inputChannelCount: Int, outputChannelCount: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    activation: Activation<Scalar> = .identity, weightInitializer: Initializer? = nil, name: String? = nil
  ) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(
      inputChannelCount: inputChannelCount, outputChannelCount: outputChannelCount, kernelSize: kernelSize,
      stride: stride,
      padding: padding, activation: activation, weightInitializer: weightInitializer, name: name,
      using: &generator)
  }

  /// `Conv2D "name" (C → O, k×k, stride s, padding p, activation)`, for messages.
  public var description: String {
    let shape = weight.shape
    return "Conv2D\(name.map { " \"\($0)\"" } ?? "") (\(shape[1]) → \(shape[0]), \(shape[2])×\(shape[3]), "
      + "stride \(stride), padding \(padding), \(activation.name))"
  }

  /// activation(conv2d(x, weight, bias: bias)) for images `[N, C, H, W]`: the bias is added
  /// inside the convolution, as `F.conv2d` does. With ``Activation/relu`` the ReLU is taken in
  /// the same pass and recorded with the convolution as one operation, which graph pictures and
  /// traces show as `conv2d` and `relu`; the values and gradients are those of the two.
  ///
  /// - Precondition: the input is `[N, C, H, W]` with this layer's C; otherwise the program stops
  ///   with a message naming the layer and the input's shape.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let shape = input.shape
    let channels = weight.shape[1]
    check(
      shape.count == 4 && shape[1] == channels,
      "\(self): input of shape \(shape); expected [batch, \(channels), height, width]")
    if activation.isReLU {
      // One node, shown as the convolution and its ReLU; the same values and gradients.
      return rectifiedConv2d(input, weight, bias: bias, stride: stride, padding: padding)
    }
    return activation(conv2d(input, weight, bias: bias, stride: stride, padding: padding))
  }

  /// `[weight, bias]`.
  public var parameters: [Variable<Scalar>] { [weight, bias] }

  /// `nn.Conv2d`'s: `"weight"` `[O, C, kh, kw]` and `"bias"` `[O]`.
  public var namedTensors: [NamedTensor<Scalar>] {
    [NamedTensor("weight", weight), NamedTensor("bias", bias)]
  }
}
