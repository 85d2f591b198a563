import BackpropTensor

/// How a layer's weights are drawn.
public enum Initializer: Sendable {
  /// Normal with mean 0 and variance 2 / fanIn (He et al.; Rohan & Lenny's recommendation for
  /// ReLU networks).
  case heNormal
  /// Uniform in ±√(6 / (fanIn + fanOut)) (Glorot & Bengio).
  case glorotUniform
  /// Uniform in [0, 1), like NumPy's `random.random` (BrainsToBytes' initialisation).
  case uniformUnit
  /// All zeros.
  case zeros

  /// A `[fanIn, fanOut]` tensor drawn with this scheme: a dense layer's weight matrix.
  public func weights<Scalar: TensorScalar, G: RandomNumberGenerator>(
    fanIn: Int, fanOut: Int, using generator: inout G
  ) -> Tensor<Scalar> {
    weights(shape: [fanIn, fanOut], fanIn: fanIn, fanOut: fanOut, using: &generator)
  }

  /// A tensor of `shape` drawn with this scheme for the given fans: a convolution's filters
  /// `[O, C, k, k]` have fan-in C·k² and fan-out O·k².
  ///
  /// - Parameters:
  ///   - shape: The tensor's shape.
  ///   - fanIn: The inputs that feed each output.
  ///   - fanOut: The outputs that each input feeds.
  ///   - generator: The random source.
  public func weights<Scalar: TensorScalar, G: RandomNumberGenerator>(
    shape: [Int], fanIn: Int, fanOut: Int, using generator: inout G
  ) -> Tensor<Scalar> {
    switch self {
    case .heNormal:
      let deviation = Scalar((2 / Double(Swift.max(fanIn, 1))).squareRoot())
      return Tensor(randomNormal: shape, standardDeviation: deviation, using: &generator)
    case .glorotUniform:
      let limit = Scalar((6 / Double(Swift.max(fanIn + fanOut, 1))).squareRoot())
      return Tensor(randomUniform: shape, lowerBound: -limit, upperBound: limit, using: &generator)
    case .uniformUnit:
      return Tensor(randomUniform: shape, using: &generator)
    case .zeros:
      return Tensor(zeros: shape)
    }
  }
}
