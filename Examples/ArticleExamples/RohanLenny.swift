import Backprop
import Foundation

/// Rohan & Lenny #1, *Neural Networks & The Backpropagation Algorithm, Explained*.
///
/// Gradient descent and momentum, ½ squared error and its derivative p − a, sigmoid′ = S(1 − S),
/// the nested-sum formula for dJ/dW1 of a 3-3-3-1 sigmoid network, He initialisation, a ReLU layer
/// API (forward / backward / update) and gradient checking.
public enum RohanLennyArticle {
  static let article = "Rohan & Lenny"

  static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

  /// The 3-3-3-1 sigmoid network without biases: y_i = x·W1, y_j = S(y_i), z_i = y_j·W2,
  /// z_j = S(z_i), p_i = z_j·W3, p_j = S(p_i), and J = ½(p_j − a)².
  public final class Network {
    /// W1, `[3, 3]`: input to hidden layer 1.
    public let w1: Variable<Double>
    /// W2, `[3, 3]`: hidden layer 1 to hidden layer 2.
    public let w2: Variable<Double>
    /// W3, `[3, 1]`: hidden layer 2 to the output.
    public let w3: Variable<Double>

    /// He-initialised weights (variance 2/size_in) from a seeded generator.
    public init(seed: UInt64) {
      var rng = SeededRandomNumberGenerator(seed: seed)
      w1 = Variable(
        Initializer.heNormal.weights(fanIn: 3, fanOut: 3, using: &rng), requiresGrad: true, name: "W1")
      w2 = Variable(
        Initializer.heNormal.weights(fanIn: 3, fanOut: 3, using: &rng), requiresGrad: true, name: "W2")
      w3 = Variable(
        Initializer.heNormal.weights(fanIn: 3, fanOut: 1, using: &rng), requiresGrad: true, name: "W3")
    }

    /// The prediction p_j for inputs `x` (`[batch, 3]`).
    public func predict(_ x: Variable<Double>) -> Variable<Double> {
      BackpropAutodiff.sigmoid(
        matmul(BackpropAutodiff.sigmoid(matmul(BackpropAutodiff.sigmoid(matmul(x, w1)), w2)), w3))
    }

    /// J = ½(p_j − a)² for one sample.
    public func loss(x: [Double], target: Double) -> Variable<Double> {
      squaredError(predicted: predict(Variable(matrix([x]))), target: matrix([[target]]))
    }

    /// The weights as plain arrays: W1 and W2 as rows, W3 as a vector.
    public var arrays: (w1: [[Double]], w2: [[Double]], w3: [Double]) {
      (rows(w1.value), rows(w2.value), w3.value.scalars)
    }
  }

  static func rows(_ t: Tensor<Double>) -> [[Double]] {
    (0..<t.shape[0]).map { i in (0..<t.shape[1]).map { t[scalarAt: [i, $0]] } }
  }

  /// The forward pass by hand: the outputs y_j, z_j and p_j of each layer.
  public static func forward(x: [Double], w1: [[Double]], w2: [[Double]], w3: [Double])
    -> (yj: [Double], zj: [Double], pj: Double)
  {
    let yj = (0..<3).map { c in sigmoid((0..<3).reduce(0.0) { $0 + x[$1] * w1[$1][c] }) }
    let zj = (0..<3).map { c in sigmoid((0..<3).reduce(0.0) { $0 + yj[$1] * w2[$1][c] }) }
    let pj = sigmoid((0..<3).reduce(0.0) { $0 + zj[$1] * w3[$1] })
    return (yj, zj, pj)
  }

  /// dJ/dW1 from the article's final formula, term by term:
  ///
  ///     dJ/dW1_ij = (p_j − a) · p_j(1 − p_j) · Σ_j [ W3_ij · z_j(1 − z_j) · Σ_j [ W2_ij · y_j(1 − y_j) · Σ_j x_j ] ]
  ///
  /// The article reuses i and j for every layer. Read with one index per layer, for the weight
  /// W1[r][c] from input r to hidden unit c: the outer sum runs over the hidden-2 units k (W3[k]),
  /// the middle one over the hidden-1 units m (W2[m][k]), and the innermost Σ x_j is
  /// ∂y_i[m]/∂W1[r][c], which is x[r] for m = c and 0 otherwise.
  public static func nestedSumGradientW1(
    x: [Double], target a: Double, w1: [[Double]], w2: [[Double]], w3: [Double]
  )
    -> [[Double]]
  {
    let (yj, zj, pj) = forward(x: x, w1: w1, w2: w2, w3: w3)
    var gradient = [[Double]](repeating: [0, 0, 0], count: 3)
    for r in 0..<3 {
      for c in 0..<3 {
        var outer = 0.0
        for k in 0..<3 {  // Σ_j over the hidden-2 units
          var inner = 0.0
          for m in 0..<3 {  // Σ_j over the hidden-1 units
            let dyInput: Double = m == c ? x[r] : 0  // "Σ_j x_j": ∂y_i[m]/∂W1[r][c]
            inner += w2[m][k] * yj[m] * (1 - yj[m]) * dyInput
          }
          outer += w3[k] * zj[k] * (1 - zj[k]) * inner
        }
        gradient[r][c] = (pj - a) * pj * (1 - pj) * outer
      }
    }
    return gradient
  }

  /// dJ/dW2[r][c] = (p_j − a) · p_j(1 − p_j) · W3[c] · z_j[c](1 − z_j[c]) · y_j[r], by the chain rule.
  public static func chainRuleGradientW2(
    x: [Double], target a: Double, w1: [[Double]], w2: [[Double]], w3: [Double]
  )
    -> [[Double]]
  {
    let (yj, zj, pj) = forward(x: x, w1: w1, w2: w2, w3: w3)
    return (0..<3).map { r in
      (0..<3).map { c in (pj - a) * pj * (1 - pj) * w3[c] * zj[c] * (1 - zj[c]) * yj[r] }
    }
  }

  /// dJ/dW3[k] = (p_j − a) · p_j(1 − p_j) · z_j[k], by the chain rule.
  public static func chainRuleGradientW3(
    x: [Double], target a: Double, w1: [[Double]], w2: [[Double]], w3: [Double]
  )
    -> [Double]
  {
    let (_, zj, pj) = forward(x: x, w1: w1, w2: w2, w3: w3)
    return zj.map { (pj - a) * pj * (1 - pj) * $0 }
  }

  /// A random input in [0, 1)³ and target in [0, 1), from a seeded generator.
  public static func sample(_ rng: inout SeededRandomNumberGenerator) -> (x: [Double], target: Double) {
    ((0..<3).map { _ in Double.random(in: 0..<1, using: &rng) }, Double.random(in: 0..<1, using: &rng))
  }

  /// The article's three gradient formulas against the tape for a network and sample drawn
  /// from `seed`.
  public static func checkNetworkGradients(seed: UInt64) -> DerivationReport<Double> {
    let network = Network(seed: seed)
    var rng = SeededRandomNumberGenerator(seed: seed &+ 1000)
    let (x, a) = sample(&rng)
    let (w1, w2, w3) = network.arrays
    return checkDerivation([
      HandGradient(
        "dJ/dW1", of: network.w1, equals: matrix(nestedSumGradientW1(x: x, target: a, w1: w1, w2: w2, w3: w3))
      ),
      HandGradient(
        "dJ/dW2", of: network.w2, equals: matrix(chainRuleGradientW2(x: x, target: a, w1: w1, w2: w2, w3: w3))
      ),
      HandGradient(
        "dJ/dW3", of: network.w3,
        equals: Tensor(chainRuleGradientW3(x: x, target: a, w1: w1, w2: w2, w3: w3)).reshaped(to: [3, 1])),
    ]) { _ in network.loss(x: x, target: a) }
  }

  /// sigmoid′ = S(1 − S) at 25 points in [−6, 6], and dJ/dp = p − a for J = ½(p − a)² at 25
  /// random points.
  public static func checkElementaryDerivatives(seed: UInt64) -> DerivationReport<Double> {
    let points = (0..<25).map { -6 + 0.5 * Double($0) }
    let x = Variable(Tensor(points), requiresGrad: true, name: "α")
    var rng = SeededRandomNumberGenerator(seed: seed)
    let p = Variable(Tensor<Double>(randomUniform: [25], using: &rng), requiresGrad: true, name: "p")
    let a = Tensor<Double>(randomUniform: [25], using: &rng)
    let s = points.map(sigmoid)
    return checkDerivation([
      HandGradient("sigmoid′ = S(1 − S)", of: x, equals: Tensor(s.map { $0 * (1 - $0) })),
      HandGradient("dJ/dp = p − a", of: p, equals: p.value - a),
    ]) { _ in BackpropAutodiff.sigmoid(x).sum() + squaredError(predicted: p, target: a) }
  }

  /// Trains two copies of one network for `steps` samples: one with the article's update rule
  /// applied by hand to the hand-derived gradients, one with ``SGD`` (or ``Momentum``) on the
  /// tape. Returns the largest weight difference seen after any step.
  public static func compareUpdateRule(momentum mu: Double?, seed: UInt64, steps: Int, alpha: Double = 0.5)
    -> Double
  {
    let network = Network(seed: seed)
    let parameters = [network.w1, network.w2, network.w3]
    let optimizer: any Optimizer<Double> =
      mu.map { Momentum(parameters: parameters, learningRate: alpha, momentum: $0) }
      ?? SGD(parameters: parameters, learningRate: alpha)
    var (w1, w2, w3) = network.arrays
    var (v1, v2, v3) = (w1.map { $0.map { _ in 0.0 } }, w2.map { $0.map { _ in 0.0 } }, w3.map { _ in 0.0 })
    var rng = SeededRandomNumberGenerator(seed: seed &+ 2000)
    var largest = 0.0
    for _ in 0..<steps {
      let (x, a) = sample(&rng)
      let g1 = nestedSumGradientW1(x: x, target: a, w1: w1, w2: w2, w3: w3)
      let g2 = chainRuleGradientW2(x: x, target: a, w1: w1, w2: w2, w3: w3)
      let g3 = chainRuleGradientW3(x: x, target: a, w1: w1, w2: w2, w3: w3)
      // W := W − α dJ/dW, or V := μV − α dJ/dW, W := W + V.
      func update(_ w: inout Double, _ v: inout Double, _ g: Double) {
        if let mu {
          v = mu * v - alpha * g
          w += v
        } else {
          w -= alpha * g
        }
      }
      for r in 0..<3 {
        for c in 0..<3 {
          update(&w1[r][c], &v1[r][c], g1[r][c])
          update(&w2[r][c], &v2[r][c], g2[r][c])
        }
        update(&w3[r], &v3[r], g3[r])
      }
      optimizer.zeroGrad()
      network.loss(x: x, target: a).backward()
      optimizer.step()
      let tape = network.arrays
      let handWeights: [Double] = Array(w1.joined()) + Array(w2.joined()) + w3
      let tapeWeights: [Double] = Array(tape.w1.joined()) + Array(tape.w2.joined()) + tape.w3
      for (h, t) in zip(handWeights, tapeWeights) { largest = Swift.max(largest, Swift.abs(h - t)) }
    }
    return largest
  }

  /// The sample variance of He-initialised weights for `sizeIn` inputs (the article: 2/size_in).
  public static func heVariance(sizeIn: Int, sizeOut: Int, seed: UInt64) -> (mean: Double, variance: Double) {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let w: Tensor<Double> = Initializer.heNormal.weights(fanIn: sizeIn, fanOut: sizeOut, using: &rng)
    let n = Double(w.scalarCount)
    let mean = w.scalars.reduce(0, +) / n
    return (mean, w.scalars.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1))
  }

  /// The article's layer API — forward, backward, update — written on top of the tape.
  ///
  /// `forward` records relu(in_act · W); `backward(outGrad)` takes dJ/d(this layer's output),
  /// back-propagates it through the recorded operations (`backward(seed:)`), keeps dJ/dW and
  /// returns dJ/d(in_act) for the previous layer; `update` takes W := W − α·dW.
  public final class ReLULayer {
    /// W, `[size_in, size_out]`, He-initialised.
    public let weights: Variable<Double>
    /// dJ/dW from the last `backward`.
    public private(set) var weightGradient: Tensor<Double>?
    var input: Variable<Double>?
    var output: Variable<Double>?

    /// A layer with He-initialised weights, `W = randn(size_in, size_out) · √(2/size_in)`.
    public init(sizeIn: Int, sizeOut: Int, using rng: inout SeededRandomNumberGenerator) {
      weights = Variable(
        Initializer.heNormal.weights(fanIn: sizeIn, fanOut: sizeOut, using: &rng), requiresGrad: true)
    }

    /// The outgoing activations relu(in_act · W), `[batch, size_out]`.
    public func forward(_ inAct: Tensor<Double>) -> Tensor<Double> {
      let input = Variable(inAct, requiresGrad: true)
      let output = relu(matmul(input, weights))
      (self.input, self.output) = (input, output)
      return output.value
    }

    /// Stores dJ/dW and returns dJ/d(in_act), given dJ/d(out_act).
    public func backward(_ outGrad: Tensor<Double>) -> Tensor<Double> {
      guard let input, let output else { preconditionFailure("ReLULayer.backward before forward") }
      weights.zeroGrad()
      output.backward(seed: outGrad)
      weightGradient = weights.grad
      return input.grad ?? Tensor(zeros: input.shape)
    }

    /// W := W − α·dW.
    public func update(alpha: Double) {
      if let weightGradient { weights.value -= weightGradient * alpha }
    }
  }

  /// Trains a 3-4-1 network of ``ReLULayer``s on y = ½(x₁ + x₂ + x₃) for inputs in [0, 1)³, per
  /// sample with gradient descent, and returns the mean loss of each epoch.
  public static func trainReLULayers(seed: UInt64, epochs: Int, alpha: Double = 0.05) -> [Double] {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let layers = [
      ReLULayer(sizeIn: 3, sizeOut: 4, using: &rng), ReLULayer(sizeIn: 4, sizeOut: 1, using: &rng),
    ]
    let data = (0..<16).map { _ in
      let x = (0..<3).map { _ in Double.random(in: 0..<1, using: &rng) }
      return (x, 0.5 * x.reduce(0, +))
    }
    var losses: [Double] = []
    for _ in 0..<epochs {
      var total = 0.0
      for (x, y) in data {
        let p = layers.reduce(matrix([x])) { $1.forward($0) }.scalar
        total += 0.5 * (p - y) * (p - y)
        var grad = matrix([[p - y]])  // dJ/dp
        for layer in layers.reversed() { grad = layer.backward(grad) }
        for layer in layers { layer.update(alpha: alpha) }
      }
      losses.append(total / Double(data.count))
    }
    return losses
  }

  /// The gradient check the article recommends, on its network: tape gradients of J with
  /// respect to x, W1, W2 and W3 against central differences.
  public static func gradientCheck(seed: UInt64) -> GradientCheckReport<Double> {
    let network = Network(seed: seed)
    var rng = SeededRandomNumberGenerator(seed: seed &+ 3000)
    let (x, a) = sample(&rng)
    return checkGradients(at: [matrix([x]), network.w1.value, network.w2.value, network.w3.value]) { v in
      let h1 = BackpropAutodiff.sigmoid(matmul(v[0], v[1]))
      let p = BackpropAutodiff.sigmoid(matmul(BackpropAutodiff.sigmoid(matmul(h1, v[2])), v[3]))
      return squaredError(predicted: p, target: matrix([[a]]))
    }
  }

  /// Runs the article end to end and returns its claims.
  ///
  /// - Parameters:
  ///   - seed: Seeds every random draw.
  ///   - output: Where the narrative goes.
  public static func run(seed: UInt64 = 1, output: ExampleOutput = .standardOutput) -> [VerificationRow] {
    var rows: [VerificationRow] = []
    output("━━ Rohan & Lenny: neural networks and backpropagation, explained ━━\n")

    output("J = ½(p − a)², so dJ/dp = p − a; S(α) = 1/(1 + e^−α), so S′ = S(1 − S).")
    output("(The article's derivation of S′ has an exponent slip, −2 for +2, which its EDIT corrects.)")
    var elementary = DerivationLog()
    elementary.add(checkElementaryDerivatives(seed: seed))
    rows += elementary.rows(
      article,
      claims: [
        ("sigmoid′ = S(1 − S)", "sigmoid′ = S(1 − S), 25 points in [−6, 6]"),
        ("dJ/dp = p − a", "dJ/dp = p − a, 25 points"),
      ])

    output("\nThe 3-3-3-1 sigmoid network (no biases), He-initialised. dJ/dW1 from the article's formula")
    output("(its left-hand side read as dW1_ij, per its EDIT), for the weight from input r to hidden unit c:")
    output("  (p_j − a)·p_j(1 − p_j)·Σ_k [W3_k·z_k(1 − z_k)·Σ_m [W2_mk·y_m(1 − y_m)·(x_r if m = c else 0)]]")
    let network = Network(seed: seed)
    var rng = SeededRandomNumberGenerator(seed: seed &+ 1000)
    let (x, a) = sample(&rng)
    let (w1, w2, w3) = network.arrays
    let formula = nestedSumGradientW1(x: x, target: a, w1: w1, w2: w2, w3: w3)
    let tape = gradients(of: network.loss(x: x, target: a), withRespectTo: [network.w1])[0].value
    output.writePage(
      "rohan-lenny", loss: network.loss(x: x, target: a),
      title: "Rohan & Lenny's 3-3-3-1 sigmoid network: one sample")
    output("  x = (\(x.map { fixed($0, 4) }.joined(separator: ", "))), a = \(fixed(a, 4))")
    for r in 0..<3 {
      let byFormula = formula[r].map { fixed($0, 8) }.joined(separator: "  ")
      let byTape = (0..<3).map { fixed(tape[scalarAt: [r, $0]], 8) }.joined(separator: "  ")
      output("  row \(r): formula \(byFormula)   tape \(byTape)")
    }
    var networkLog = DerivationLog()
    for s in 0..<10 { networkLog.add(checkNetworkGradients(seed: seed &+ UInt64(s))) }
    rows += networkLog.rows(
      article,
      claims: [
        ("dJ/dW1", "dJ/dW1 by the nested-sum formula, 10 random networks"),
        ("dJ/dW2", "dJ/dW2 by the chain rule"), ("dJ/dW3", "dJ/dW3 by the chain rule"),
      ])

    output("\nUpdate rules, hand gradients and hand updates against the optimisers on the tape, 50 steps:")
    let sgd = compareUpdateRule(momentum: nil, seed: seed, steps: 50)
    let momentum = compareUpdateRule(momentum: 0.9, seed: seed, steps: 50)
    output("  W := W − α dJ/dW versus SGD: largest difference \(magnitude(sgd))")
    output("  V := μV − α dJ/dW, W := W + V versus Momentum: largest difference \(magnitude(momentum))")
    rows.append(
      VerificationRow(
        article: article, claim: "W := W − α dJ/dW equals SGD, 50 steps", hand: "same weights",
        tape: "max |Δ| \(magnitude(sgd))", passed: sgd < 1e-12))
    rows.append(
      VerificationRow(
        article: article, claim: "V := μV − α dJ/dW, W := W + V equals Momentum", hand: "same weights",
        tape: "max |Δ| \(magnitude(momentum))", passed: momentum < 1e-12))

    let he = heVariance(sizeIn: 200, sizeOut: 500, seed: seed)
    output(
      "\nHe initialisation, 200 × 500 weights: mean \(fixed(he.mean, 5)), variance \(fixed(he.variance, 6)) (2/200 = 0.01)"
    )
    rows.append(
      VerificationRow(
        article: article, claim: "He initialisation has variance 2/size_in (100,000 draws)",
        hand: fixed(0.01, 6),
        tape: fixed(he.variance, 6), passed: abs(he.variance / 0.01 - 1) < 0.03 && abs(he.mean) < 0.001))

    output(
      "\nThe article's ReLULayer API (forward / backward / update) on the tape, 3-4-1, y = ½(x₁ + x₂ + x₃):")
    let losses = trainReLULayers(seed: seed, epochs: 300)
    for epoch in [0, 9, 99, 299] { output("  epoch \(epoch + 1): mean loss \(fixed(losses[epoch], 6))") }
    rows.append(
      VerificationRow(
        article: article, claim: "ReLULayer forward/backward/update learns (300 epochs)",
        hand: "loss \(fixed(losses[0], 4)) → < 0.001", tape: "loss \(fixed(losses.last!, 6))",
        passed: losses.last! < 0.001))

    let check = gradientCheck(seed: seed)
    output("\nGradient check of the 3-3-3-1 network: \(check)\n")
    rows.append(
      VerificationRow(
        article: article, claim: "gradient check of the network (x, W1, W2, W3)",
        hand: "finite differences",
        tape: "worst error \(magnitude(check.worst?.errorRatio ?? 0)) × tolerance",
        passed: check.passed))
    return rows
  }
}
