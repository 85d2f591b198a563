/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64).
///
/// The same seed gives the same sequence on every platform and every Swift version, which the
/// standard library's `SystemRandomNumberGenerator` does not promise. Use it wherever runs must
/// be reproducible: initialisers, shuffles, tests.
///
/// ```swift
/// var rng = SeededRandomNumberGenerator(seed: 42)
/// let w = Tensor<Float>(randomNormal: [3, 4], using: &rng)
/// ```
public struct SeededRandomNumberGenerator: RandomNumberGenerator, Sendable {
  var state: (UInt64, UInt64, UInt64, UInt64)

  /// Creates a generator whose sequence is determined by `seed`.
  public init(seed: UInt64) {
    var s = seed
    func splitMix() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    let result = rotateLeft(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotateLeft(state.3, 45)
    return result
  }

  private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension RandomNumberGenerator {
  /// A uniform `Double` in [0, 1) from the top 53 bits of `next()`: the same on every platform.
  mutating func nextUnitInterval() -> Double {
    Double(next() >> 11) * 0x1p-53
  }
}

extension Tensor {
  /// A tensor of scalars drawn uniformly from `[lowerBound, upperBound)`.
  ///
  /// With the defaults this is NumPy's `random.random(shape)`.
  public init<G: RandomNumberGenerator>(
    randomUniform shape: [Int], lowerBound: Scalar = 0, upperBound: Scalar = 1, using generator: inout G
  ) {
    check(shape.allSatisfy { $0 >= 0 }, "Tensor(randomUniform:): negative extent in \(shape)")
    let width = Double(upperBound - lowerBound)
    let low = Double(lowerBound)
    var values = [Scalar]()
    values.reserveCapacity(shape.reduce(1, *))
    for _ in 0..<shape.reduce(1, *) {
      values.append(Scalar(low + width * generator.nextUnitInterval()))
    }
    self.init(uncheckedShape: shape, scalars: values)
  }

  /// A tensor of scalars drawn from a normal distribution (Box–Muller transform).
  public init<G: RandomNumberGenerator>(
    randomNormal shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1, using generator: inout G
  ) {
    check(shape.allSatisfy { $0 >= 0 }, "Tensor(randomNormal:): negative extent in \(shape)")
    let count = shape.reduce(1, *)
    var values = [Scalar]()
    values.reserveCapacity(count + 1)
    while values.count < count {
      let u1 = 1 - generator.nextUnitInterval()  // (0, 1]: log is finite
      let u2 = generator.nextUnitInterval()
      let radius = (-2 * Double._log(u1)).squareRoot()
      let angle = 2 * Double.pi * u2
      values.append(mean + standardDeviation * Scalar(radius * Double._cos(angle)))
      values.append(mean + standardDeviation * Scalar(radius * Double._cos(angle - Double.pi / 2)))
    }
    self.init(uncheckedShape: shape, scalars: Array(values.prefix(count)))
  }
}
