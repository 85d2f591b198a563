import BackpropAutodiff
import BackpropTensor

/// In training, zeroes each element with probability p and scales the others by 1/(1 − p), so
/// that the expected value is unchanged (inverted dropout, as PyTorch's `Dropout`); in inference
/// (``LearningPhase/inference``) passes its input through.
///
/// Its gradient is the upstream gradient times the same mask. No parameters.
public final class Dropout<Scalar: TensorScalar>: Layer {
  /// The probability p that an element is zeroed.
  public let probability: Scalar
  /// Draws the masks; seeded, so that a seeded run drops the same units.
  public var generator: SeededRandomNumberGenerator

  /// - Parameters:
  ///   - probability: p, in `0..<1`.
  ///   - generator: The random source its masks' generator is seeded from; pass a
  ///     `SeededRandomNumberGenerator` for reproducible masks.
  /// - Precondition: `0 <= probability < 1`.
  public init<G: RandomNumberGenerator>(probability: Scalar, using generator: inout G) {
    check(probability >= 0 && probability < 1, "Dropout: probability \(probability) is not in 0..<1")
    self.probability = probability
    self.generator = SeededRandomNumberGenerator(seed: generator.next())
  }

  /// The same, with masks seeded by the system's random source (not reproducible; pass `using:`
  /// a seeded generator for that).
  ///
  /// - Precondition: `0 <= probability < 1`.
  public convenience init(probability: Scalar) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(probability: probability, using: &generator)
  }

  /// The input with dropped elements in training, the input itself in inference.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    guard LearningPhase.current == .training && probability > 0 else { return input }
    let keep = 1 - probability
    let uniform = Tensor<Scalar>(randomUniform: input.shape, using: &generator)
    return input.multiplied(byConstant: uniform.map { $0 < keep ? 1 / keep : 0 })
  }

  /// None.
  public var parameters: [Variable<Scalar>] { [] }
}
