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

  /// A `[fanIn, fanOut]` tensor drawn with this scheme.
  public func weights<Scalar: TensorScalar, G: RandomNumberGenerator>(
    fanIn: Int, fanOut: Int, using generator: inout G
  ) -> Tensor<Scalar> {
    let shape = [fanIn, fanOut]
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
