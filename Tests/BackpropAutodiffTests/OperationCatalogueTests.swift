import Backprop
import BackpropTestSupport
import Foundation
import Testing

@testable import BackpropAutodiff

/// One row of the operation catalogue.
struct CatalogueRow<Scalar: TensorScalar> {
  /// `binary` operands broadcast; `sameShape` ones (the losses' prediction and target) are equal.
  enum Arity {
    case unary, binary, sameShape, matrix, biasedMatrix, batchedMatrix, images, convolution, biasedConvolution
  }
  let name: String
  let arity: Arity
  /// Inputs are drawn from `range`, at least `margin` away from zero (kinks, domain edges).
  var range: ClosedRange<Double> = -2...2
  var margin: Double = 0.05
  let apply: ([Variable<Scalar>]) -> Variable<Scalar>
}

/// The operation catalogue as a uniform table, written once for both scalar types. Every row is
/// gradient-checked in Double over every shape it accepts, for several seeds, and its Float
/// gradients are compared with Double. Adding an operation adds one row here.
func catalogue<Scalar: TensorScalar>(_: Scalar.Type) -> [CatalogueRow<Scalar>] {
  [
    // Primitives
    .init(name: "+", arity: .binary) { $0[0] + $0[1] },
    .init(name: "-", arity: .binary) { $0[0] - $0[1] },
    .init(name: "*", arity: .binary) { $0[0] * $0[1] },
    .init(name: "/", arity: .binary, margin: 0.5) { $0[0] / $0[1] },
    .init(name: "neg", arity: .unary) { -$0[0] },
    .init(name: "scalar ops", arity: .unary, margin: 0.5) { 3 - 2 * $0[0] + 1.5 / $0[0] - $0[0] / 4 },
    .init(name: "tensor constants", arity: .unary) { v in (Tensor(0.25) + v[0] - Tensor(1.5)) * 0.5 + v[0] },
    .init(name: "matmul", arity: .matrix) { matmul($0[0], $0[1]) },
    .init(name: "matmul Aᵀ", arity: .matrix) { matmul($0[0].transposed(), $0[1], transposeA: true) },
    .init(name: "matmul Bᵀ", arity: .matrix) { matmul($0[0], $0[1].transposed(), transposeB: true) },
    .init(name: "matmul AᵀBᵀ", arity: .matrix) {
      matmul($0[0].transposed(), $0[1].transposed(), transposeA: true, transposeB: true)
    },
    .init(name: "matmul → +", arity: .biasedMatrix) { affine($0[0], $0[1], bias: $0[2]) },
    .init(name: "matmul → + → relu", arity: .biasedMatrix) { rectifiedAffine($0[0], $0[1], bias: $0[2]) },
    .init(name: "batched matmul", arity: .batchedMatrix) { matmul($0[0], $0[1]) },
    .init(name: "batched matmul AᵀBᵀ", arity: .batchedMatrix) { v in
      let last = v[0].shape.count
      let permutation = Array(0..<(last - 2)) + [last - 1, last - 2]
      let lastB = v[1].shape.count
      let permutationB = Array(0..<(lastB - 2)) + [lastB - 1, lastB - 2]
      return matmul(
        v[0].transposed(permutation: permutation), v[1].transposed(permutation: permutationB),
        transposeA: true, transposeB: true)
    },
    .init(name: "transposed", arity: .unary) { $0[0].transposed() },
    .init(name: "transposed(permutation:)", arity: .unary) {
      $0[0].transposed(permutation: Array((0..<$0[0].shape.count).reversed()))
    },
    .init(name: "reshaped", arity: .unary) { $0[0].reshaped(to: [$0[0].value.scalarCount]) },
    .init(name: "broadcasted", arity: .unary) { $0[0].broadcasted(to: [2] + $0[0].shape) },
    .init(name: "relu", arity: .unary) { relu($0[0]) },
    .init(name: "sigmoid", arity: .unary, range: -4...4) { sigmoid($0[0]) },
    .init(name: "tanh", arity: .unary) { tanh($0[0]) },
    .init(name: "exp", arity: .unary) { exp($0[0]) },
    .init(name: "log", arity: .unary, range: 0.2...3) { log($0[0]) },
    .init(name: "sqrt", arity: .unary, range: 0.2...3) { sqrt($0[0]) },
    .init(name: "pow 3", arity: .unary) { pow($0[0], 3) },
    .init(name: "pow 2.5", arity: .unary, range: 0.2...3) { pow($0[0], 2.5) },
    .init(name: "pow -1", arity: .unary, margin: 0.5) { pow($0[0], -1) },
    .init(name: "abs", arity: .unary) { abs($0[0]) },
    .init(name: "softplus", arity: .unary, range: -4...4) { softplus($0[0]) },
    .init(name: "sum", arity: .unary) { $0[0].sum() },
    .init(name: "sum(alongAxes:)", arity: .unary) { $0[0].sum(alongAxes: [-1]) },
    .init(name: "sum(squeezingAxes:)", arity: .unary) { $0[0].sum(squeezingAxes: [0]) },
    .init(name: "squaredError", arity: .sameShape) { squaredError(predicted: $0[0], target: $0[1]) },
    .init(name: "squaredError (constant target)", arity: .unary) { v in
      let pattern = (0..<v[0].value.scalarCount).map { Scalar($0 % 3) - 1 }
      return squaredError(predicted: v[0], target: try! Tensor(shape: v[0].shape, scalars: pattern))
    },
    .init(name: "meanSquaredError", arity: .sameShape) {
      meanSquaredError(predicted: $0[0], target: $0[1])
    },
    .init(name: "meanSquaredError (constant target)", arity: .unary) { v in
      let pattern = (0..<v[0].value.scalarCount).map { Scalar($0 % 3) - 1 }
      return meanSquaredError(predicted: v[0], target: try! Tensor(shape: v[0].shape, scalars: pattern))
    },
    // Composites
    .init(name: "mean", arity: .unary) { $0[0].mean() },
    .init(name: "mean(alongAxes:)", arity: .unary) { $0[0].mean(alongAxes: [0]) },
    .init(name: "unbroadcasted", arity: .unary) {
      $0[0].unbroadcasted(to: Array(repeating: 1, count: $0[0].shape.count))
    },
    .init(name: "logSumExp", arity: .unary) { logSumExp($0[0], alongAxes: [-1]) },
    .init(name: "logSoftmax", arity: .unary) { logSoftmax($0[0]) },
    .init(name: "softmax", arity: .unary) { softmax($0[0]) },
    .init(name: "softmaxCrossEntropy", arity: .unary) { v in
      // a fixed target distribution along the last axis, independent of the input's value
      let pattern = (0..<v[0].value.scalarCount).map { Scalar($0 % 3) }
      let labels = softmax(Variable(try! Tensor(shape: v[0].shape, scalars: pattern)))
      return softmaxCrossEntropy(logits: v[0], target: labels.value)
    },
    .init(name: "sigmoidCrossEntropy", arity: .sameShape, range: -3...3) { v in
      sigmoidCrossEntropy(logits: v[0], target: sigmoid(v[1]))
    },
    // Convolution and pooling
    .init(name: "conv2d", arity: .convolution) { conv2d($0[0], $0[1]) },
    .init(name: "conv2d with bias, padding 1", arity: .biasedConvolution) {
      conv2d($0[0], $0[1], bias: $0[2], padding: 1)
    },
    .init(name: "conv2d → relu, with bias, padding 1", arity: .biasedConvolution) {
      rectifiedConv2d($0[0], $0[1], bias: $0[2], stride: 1, padding: 1, dilation: 1)
    },
    .init(name: "conv2d stride 2, padding 1", arity: .convolution) {
      conv2d($0[0], $0[1], stride: 2, padding: 1)
    },
    .init(name: "conv2d dilation 2, padding 2", arity: .convolution) {
      conv2d($0[0], $0[1], padding: 2, dilation: 2)
    },
    .init(name: "unfolded", arity: .images) { v in
      v[0].unfolded(SlidingWindows(kernelSize: [2, 3], stride: [1, 2], padding: [1, 0]))
    },
    .init(name: "folded", arity: .images) { v in
      // [N, C, H, W] read as the columns of 2×2 windows with stride 2, overlapping with stride 1
      let shape = v[0].shape
      let columns = v[0].reshaped(to: [shape[0], shape[1] * 4, shape[2] * shape[3] / 4])
      return columns.folded(
        SlidingWindows(kernelSize: [2, 2], stride: [2, 2]), imageSize: [shape[2], shape[3]])
    },
    .init(name: "folded overlapping", arity: .images) { v in
      let shape = v[0].shape
      let columns = v[0].reshaped(to: [shape[0], shape[1] * 4, shape[2] * shape[3] / 4])
      return columns.folded(
        SlidingWindows(kernelSize: [2, 2], stride: [1, 1]), imageSize: [2, shape[2] * shape[3] / 4 + 1])
    },
    .init(name: "maxPool2d", arity: .images) { maxPool2d($0[0], kernelSize: 2) },
    .init(name: "maxPool2d overlapping", arity: .images) { maxPool2d($0[0], kernelSize: 2, stride: 1) },
    .init(name: "avgPool2d", arity: .images) { avgPool2d($0[0], kernelSize: 2, stride: 1) },
    // Indexing and joining
    .init(name: "slice", arity: .unary) { v in
      v[0].slice(lowerBounds: v[0].shape.map { $0 > 1 ? 1 : 0 }, upperBounds: v[0].shape)
    },
    .init(name: "x[i]", arity: .unary) { $0[0][-1] },
    .init(name: "x[range]", arity: .unary) { v in v[0][(v[0].shape[0] > 1 ? 1 : 0)...] },
    .init(name: "padded", arity: .unary) { v in
      v[0].padded(to: v[0].shape.map { $0 + 2 }, at: v[0].shape.map { _ in 1 })
    },
    .init(name: "concatenate", arity: .unary) { v in concatenate([v[0], v[0] * 2, v[0]], alongAxis: -1) },
    .init(name: "stack", arity: .unary) { v in stack([v[0], exp(v[0])], alongAxis: 0) },
    .init(name: "gathering", arity: .unary) { v in
      let n = v[0].shape[v[0].shape.count - 1]
      return v[0].gathering(atIndices: [n - 1, 0, n - 1], alongAxis: -1)
    },
    .init(name: "scatteringAdd", arity: .unary) { v in
      let n = v[0].shape[v[0].shape.count - 1]
      return v[0].scatteringAdd(atIndices: (0..<n).map { $0 % 2 }, alongAxis: -1, extent: 2)
    },
    // Extremes, clamping, choosing
    .init(name: "max(alongAxes:)", arity: .unary) { $0[0].max(alongAxes: [-1]) },
    .init(name: "min(alongAxes:)", arity: .unary) { $0[0].min(alongAxes: [0]) },
    .init(name: "max()", arity: .unary) { $0[0].max() },
    .init(name: "min()", arity: .unary) { $0[0].min() },
    .init(name: "clamped", arity: .unary) { $0[0].clamped(to: -1...1) },
    .init(name: "select", arity: .binary) { v in
      let shape = Tensor<Scalar>.broadcastShape(v[0].shape, v[1].shape)!
      let pattern = (0..<shape.reduce(1, *)).map { Scalar($0 % 2) }
      return select(try! Tensor(shape: shape, scalars: pattern), v[0], v[1])
    },
    // Elementwise functions and activations
    .init(name: "sin", arity: .unary) { sin($0[0]) },
    .init(name: "cos", arity: .unary) { cos($0[0]) },
    .init(name: "erf", arity: .unary) { erf($0[0]) },
    .init(name: "leakyRelu", arity: .unary) { leakyRelu($0[0], alpha: 0.1) },
    .init(name: "elu", arity: .unary) { elu($0[0], alpha: 0.5) },
    .init(name: "gelu", arity: .unary) { gelu($0[0]) },
    .init(name: "silu", arity: .unary) { silu($0[0]) },
    // Normalisation and losses along an axis
    .init(name: "softmax(alongAxis: 0)", arity: .unary) { softmax($0[0], alongAxis: 0) },
    .init(name: "logSoftmax(alongAxis: 0)", arity: .unary) { logSoftmax($0[0], alongAxis: 0) },
    .init(name: "variance(alongAxes:)", arity: .unary) { $0[0].variance(alongAxes: [-1]) },
    .init(name: "softmaxCrossEntropy(target:)", arity: .unary) { v in
      let classes = v[0].shape[v[0].shape.count - 1]
      let rows = v[0].value.scalarCount / classes
      let logits = v[0].reshaped(to: [rows, classes])
      return softmaxCrossEntropy(logits: logits, target: (0..<rows).map { ($0 * 2) % classes })
    },
  ]
}

/// The shapes every row is checked at: single operands for unary rows, pairs (broadcasting
/// included) for binary rows, and compatible matrices for matrix rows.
func shapes(for arity: CatalogueRow<Double>.Arity, name: String) -> [[[Int]]] {
  switch arity {
  case .unary:
    let all: [[Int]] = [[], [1], [5], [3, 4], [3, 1], [2, 3, 4]]
    // rank-0 inputs have no axis to reduce along or stack on
    return all.filter {
      !$0.isEmpty
        || ![
          "sum(alongAxes:)", "sum(squeezingAxes:)", "mean(alongAxes:)", "logSumExp",
          "logSoftmax", "softmax", "softmaxCrossEntropy", "x[i]", "x[range]", "concatenate",
          "gathering", "scatteringAdd", "max(alongAxes:)", "min(alongAxes:)", "softmax(alongAxis: 0)",
          "logSoftmax(alongAxis: 0)", "variance(alongAxes:)", "softmaxCrossEntropy(target:)",
        ].contains(name)
    }.map { [$0] }
  case .binary:
    return [
      [[], []], [[1], [1]], [[5], [5]], [[3, 4], [3, 4]], [[3, 1], [1, 4]], [[2, 3, 4], [2, 1, 4]],
      [[3, 4], []],
    ]
  case .sameShape:
    return [
      [[], []], [[1], [1]], [[5], [5]], [[3, 4], [3, 4]], [[3, 1], [3, 1]], [[2, 3, 4], [2, 3, 4]],
    ]
  case .matrix:
    return [[[1, 1], [1, 1]], [[3, 4], [4, 2]], [[5, 2], [2, 3]]]
  case .biasedMatrix:
    return [[[1, 1], [1, 1], [1]], [[3, 4], [4, 2], [2]], [[5, 2], [2, 3], [3]]]
  case .images:
    return [[[1, 1, 4, 4]], [[2, 3, 4, 6]]]
  case .convolution:
    return [
      [[1, 2, 4, 4], [2, 2, 3, 3]], [[2, 1, 5, 4], [2, 1, 2, 3]], [[1, 3, 3, 3], [2, 3, 1, 1]],
    ]
  case .biasedConvolution:
    return [[[1, 2, 4, 4], [2, 2, 3, 3], [2]], [[2, 1, 5, 4], [3, 1, 2, 3], [3]]]
  case .batchedMatrix:
    return [
      [[2, 3, 4], [2, 4, 5]], [[2, 3, 4], [4, 2]], [[3, 4], [2, 4, 5]], [[2, 1, 3, 4], [3, 4, 2]],
    ]
  }
}

let catalogueNames = catalogue(Double.self).map(\.name)
let seeds: [UInt64] = [1, 2, 3]

@Suite("Operation catalogue")
struct OperationCatalogueTests {
  @Test("Gradient check in Double (atol 1e-5, rtol 1e-3)", arguments: catalogueNames)
  func gradientCheck(name: String) throws {
    let row = try #require(catalogue(Double.self).first { $0.name == name })
    for shapeSet in shapes(for: row.arity, name: name) {
      for seed in seeds {
        var rng = SeededRandomNumberGenerator(seed: seed)
        let inputs: [Tensor<Double>] = shapeSet.map {
          randomTensor($0, in: row.range, awayFromZeroBy: row.margin, using: &rng)
        }
        let report = checkGradients(at: inputs, row.apply)
        #expect(report.passed, "\(name) at shapes \(shapeSet), seed \(seed): \(report)")
      }
    }
  }

  @Test("Second-order check in Double, like gradgradcheck (atol 1e-5, rtol 1e-3)", arguments: catalogueNames)
  func secondOrderCheck(name: String) throws {
    let row = try #require(catalogue(Double.self).first { $0.name == name })
    for shapeSet in shapes(for: row.arity, name: name) {
      var rng = SeededRandomNumberGenerator(seed: 11)
      let inputs: [Tensor<Double>] = shapeSet.map {
        randomTensor($0, in: row.range, awayFromZeroBy: row.margin, using: &rng)
      }
      let report = checkSecondOrderGradients(at: inputs, seed: 11, row.apply)
      #expect(report.passed, "\(name) at shapes \(shapeSet): \(report)")
    }
  }

  @Test(
    "Forward mode in Double: each tangent rule against central differences (atol 1e-5, rtol 1e-3) and against its pullback, ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩",
    arguments: catalogueNames)
  func forwardModeCheck(name: String) throws {
    let row = try #require(catalogue(Double.self).first { $0.name == name })
    for shapeSet in shapes(for: row.arity, name: name) {
      var rng = SeededRandomNumberGenerator(seed: 13)
      let inputs: [Tensor<Double>] = shapeSet.map {
        randomTensor($0, in: row.range, awayFromZeroBy: row.margin, using: &rng)
      }
      let tangents = shapeSet.map {
        Tensor<Double>(randomUniform: $0, lowerBound: -1, upperBound: 1, using: &rng)
      }
      let (value, jv, transposed) = loggingTranspositions { log in
        let (value, jv) = jvp(of: row.apply, at: inputs, tangents: tangents)
        return (value, jv, log.operations)
      }
      #expect(transposed.isEmpty, "\(name): no tangent rule for \(Set(transposed).sorted())")
      // Central differences along the direction, with a step well inside the kinks' margin.
      let h = 1e-6
      let plus = row.apply(zip(inputs, tangents).map { Variable($0 + $1 * h) }).value
      let minus = row.apply(zip(inputs, tangents).map { Variable($0 - $1 * h) }).value
      let estimate = (plus - minus) / (2 * h)
      #expect(jv.shape == value.shape, "\(name) at shapes \(shapeSet)")
      #expect(
        isClose(jv, estimate, absoluteTolerance: 1e-5, relativeTolerance: 1e-3),
        "\(name) at shapes \(shapeSet): J·v \(jv) against \(estimate)")
      let u = Tensor<Double>(randomUniform: value.shape, lowerBound: -1, upperBound: 1, using: &rng)
      let (left, right) = dotProductTest(row.apply, at: inputs, tangents: tangents, cotangent: u)
      #expect(
        isClose(left, right, absoluteTolerance: 1e-10, relativeTolerance: 1e-9),
        "\(name) at shapes \(shapeSet): ⟨u, J·v⟩ \(left) against ⟨Jᵀ·u, v⟩ \(right)")
    }
  }

  @Test(
    "Forward mode in Float: ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ (rtol 1e-4); tangents and reverse over forward agree with Double (atol 1e-4, rtol 1e-3)",
    arguments: catalogueNames)
  func floatForwardModeCheck(name: String) throws {
    let row = try #require(catalogue(Float.self).first { $0.name == name })
    let doubleRow = try #require(catalogue(Double.self).first { $0.name == name })
    for shapeSet in shapes(for: doubleRow.arity, name: name) {
      var rng = SeededRandomNumberGenerator(seed: 17)
      let inputs: [Tensor<Float>] = shapeSet.map {
        let drawn: Tensor<Double> = randomTensor(
          $0, in: doubleRow.range, awayFromZeroBy: doubleRow.margin, using: &rng)
        return converted(drawn, to: Float.self)
      }
      let tangents = shapeSet.map {
        Tensor<Float>(randomUniform: $0, lowerBound: -1, upperBound: 1, using: &rng)
      }
      let shape = withoutGradients { row.apply(inputs.map { Variable($0) }).shape }
      let u = Tensor<Float>(randomUniform: shape, lowerBound: -1, upperBound: 1, using: &rng)
      let (left, right) = dotProductTest(row.apply, at: inputs, tangents: tangents, cotangent: u)
      let scale: Float = Swift.max(Swift.abs(left), Swift.abs(right), 1)
      let difference: Float = Swift.abs(left - right)
      #expect(difference <= 1e-4 * scale, "\(name) at shapes \(shapeSet): \(left) against \(right)")
      // The tangent, and the gradient of ⟨u, J·v⟩ (reverse over forward), against Double's.
      func tangentAndItsGradient<Scalar: TensorScalar>(
        _ apply: ([Variable<Scalar>]) -> Variable<Scalar>, _ inputs: [Tensor<Scalar>],
        _ tangents: [Tensor<Scalar>],
        _ u: Tensor<Scalar>
      ) -> (Tensor<Scalar>, [Tensor<Scalar>]) {
        let duals = zip(inputs, tangents).map { Variable($0, tangent: $1, requiresGrad: true) }
        let tangent = apply(duals).tangent!
        guard tangent.requiresGrad else { return (tangent.value, inputs.map { Tensor(zeros: $0.shape) }) }
        return (tangent.value, gradients(of: (tangent * u).sum(), withRespectTo: duals).map(\.value))
      }
      let (floatTangent, floatGradients) = tangentAndItsGradient(row.apply, inputs, tangents, u)
      let (doubleTangent, doubleGradients) = tangentAndItsGradient(
        doubleRow.apply, inputs.map { converted($0, to: Double.self) },
        tangents.map { converted($0, to: Double.self) },
        converted(u, to: Double.self))
      #expect(
        isClose(
          converted(floatTangent, to: Double.self), doubleTangent, absoluteTolerance: 1e-4,
          relativeTolerance: 1e-3),
        "\(name) at shapes \(shapeSet): Float tangent \(floatTangent) against Double's \(doubleTangent)")
      for (float, double) in zip(floatGradients, doubleGradients) {
        #expect(
          isClose(
            converted(float, to: Double.self), double, absoluteTolerance: 1e-4, relativeTolerance: 1e-3),
          "\(name) at shapes \(shapeSet): Float reverse over forward \(float) against Double's \(double)")
      }
    }
  }

  @Test(
    "Second-order mixes in Double: reverse over forward = forward over reverse = reverse over reverse (H·v of ⟨u, f⟩)",
    arguments: catalogueNames)
  func secondOrderMixes(name: String) throws {
    let row = try #require(catalogue(Double.self).first { $0.name == name })
    for shapeSet in shapes(for: row.arity, name: name) {
      var rng = SeededRandomNumberGenerator(seed: 19)
      let inputs: [Tensor<Double>] = shapeSet.map {
        randomTensor($0, in: row.range, awayFromZeroBy: row.margin, using: &rng)
      }
      let tangents = shapeSet.map {
        Tensor<Double>(randomUniform: $0, lowerBound: -1, upperBound: 1, using: &rng)
      }
      let shape = withoutGradients { row.apply(inputs.map { Variable($0) }).shape }
      let u = Tensor<Double>(randomUniform: shape, lowerBound: -1, upperBound: 1, using: &rng)
      // Reverse over forward: the gradient of ⟨u, J·v⟩, the tangent recorded on the tape.
      let duals = zip(inputs, tangents).map { Variable($0, tangent: $1, requiresGrad: true) }
      let tangent = try #require(row.apply(duals).tangent)
      let reverseOverForward =
        tangent.requiresGrad
        ? gradients(of: (tangent * u).sum(), withRespectTo: duals).map(\.value)
        : inputs.map { Tensor(zeros: $0.shape) }
      // Forward over reverse: the jvp of the gradient of ⟨u, f⟩ (zero where the gradient is a
      // constant, as for a linear operation).
      let forwardOverReverse = inputs.indices.map { k in
        let gradient = { (x: [Variable<Double>]) in
          gradients(of: (row.apply(x) * u).sum(), withRespectTo: x, createGraph: true)[k]
        }
        guard gradient(inputs.map { Variable($0, requiresGrad: true) }).requiresGrad else {
          return Tensor<Double>(zeros: inputs[k].shape)
        }
        return jvp(of: gradient, at: inputs, tangents: tangents).tangent
      }
      // The same on dual variables that require gradients: the tangents are recorded, and the
      // backward pass reads the intermediates' tangents after their variables died.
      let recordedDuals = zip(inputs, tangents).map { Variable($0, tangent: $1, requiresGrad: true) }
      let recordedGradient = gradients(
        of: (row.apply(recordedDuals) * u).sum(), withRespectTo: recordedDuals, createGraph: true)
      let recordedForwardOverReverse = zip(recordedGradient, inputs).map {
        $0.tangent?.value ?? Tensor(zeros: $1.shape)
      }
      // Reverse over reverse: the gradient of ⟨∇⟨u, f⟩, v⟩.
      let variables = inputs.map { Variable($0, requiresGrad: true) }
      let first = gradients(of: (row.apply(variables) * u).sum(), withRespectTo: variables, createGraph: true)
      let projection = zip(first, tangents).map { ($0 * $1).sum() }.reduce(Variable(Tensor(0.0)), +)
      let reverseOverReverse =
        projection.requiresGrad
        ? gradients(of: projection, withRespectTo: variables).map(\.value)
        : inputs.map { Tensor(zeros: $0.shape) }
      for k in inputs.indices {
        #expect(
          isClose(
            reverseOverForward[k], reverseOverReverse[k], absoluteTolerance: 1e-9, relativeTolerance: 1e-8),
          "\(name) at \(shapeSet), input \(k): reverse over forward \(reverseOverForward[k]), reverse over reverse \(reverseOverReverse[k])"
        )
        #expect(
          isClose(
            recordedForwardOverReverse[k], reverseOverReverse[k], absoluteTolerance: 1e-9,
            relativeTolerance: 1e-8),
          "\(name) at \(shapeSet), input \(k): forward over reverse, recorded, \(recordedForwardOverReverse[k])"
        )
        #expect(
          isClose(
            forwardOverReverse[k], reverseOverReverse[k], absoluteTolerance: 1e-9, relativeTolerance: 1e-8),
          "\(name) at \(shapeSet), input \(k): forward over reverse \(forwardOverReverse[k]), reverse over reverse \(reverseOverReverse[k])"
        )
      }
    }
  }

  @Test("Float gradients agree with Double (atol 1e-4, rtol 1e-3)", arguments: catalogueNames)
  func floatAgreesWithDouble(name: String) throws {
    let doubleRow = try #require(catalogue(Double.self).first { $0.name == name })
    let floatRow = try #require(catalogue(Float.self).first { $0.name == name })
    for shapeSet in shapes(for: doubleRow.arity, name: name) {
      var rng = SeededRandomNumberGenerator(seed: 7)
      let inputs: [Tensor<Double>] = shapeSet.map {
        randomTensor($0, in: doubleRow.range, awayFromZeroBy: doubleRow.margin, using: &rng)
      }
      let doubles = inputs.map { Variable($0, requiresGrad: true) }
      let floats = inputs.map { Variable(converted($0, to: Float.self), requiresGrad: true) }
      doubleRow.apply(doubles).sum().backward()
      floatRow.apply(floats).sum().backward()
      for (d, f) in zip(doubles, floats) {
        let expected = d.grad ?? Tensor(zeros: d.shape)
        let actual = converted(f.grad ?? Tensor(zeros: f.shape), to: Double.self)
        #expect(
          isClose(actual, expected, absoluteTolerance: 1e-4, relativeTolerance: 1e-3),
          "\(name) at \(shapeSet): Float \(actual) vs Double \(expected)")
      }
    }
  }

  @Test(
    "Chain-rule traces: the paths through each operation sum to the tape's gradient",
    arguments: catalogueNames)
  func chainRuleTraces(name: String) throws {
    let row = try #require(catalogue(Double.self).first { $0.name == name })
    for shapeSet in shapes(for: row.arity, name: name) {
      var rng = SeededRandomNumberGenerator(seed: 5)
      let inputs = shapeSet.map {
        Variable(
          randomTensor($0, in: row.range, awayFromZeroBy: row.margin, using: &rng) as Tensor<Double>,
          requiresGrad: true)
      }
      let result = row.apply(inputs)
      let weights: Tensor<Double> = randomTensor(result.shape, in: 0.5...1.5, using: &rng)
      let loss = (result * weights).sum()
      for input in inputs {
        // Up to 8 elements per input, spread over it: a trace enumerates every path.
        let count = input.value.scalarCount
        for flat in stride(from: 0, to: count, by: Swift.max(1, count / 8)) {
          let index = multiIndexForTest(flat, in: input.shape)
          let trace = chainRuleTrace(of: loss, withRespectTo: input, at: index)
          #expect(
            trace.agreesWithTape(tolerance: 1e-12), "\(name) at \(shapeSet), element \(index):\n\(trace)")
        }
      }
    }
  }
}

@Suite("Operation catalogue completeness")
struct CatalogueCompletenessTests {
  /// Every operation type declared in the library's sources (`struct Name<…>: DifferentiableOperation`),
  /// read from the files themselves, so that a new operation cannot be forgotten.
  static func declaredOperationTypes() throws -> Set<String> {
    let sources = URL(filePath: #filePath).deletingLastPathComponent()
      .appending(path: "../../Sources").standardized
    let declaration = try Regex(#"struct\s+(\w+)\s*<[^>]*>\s*:\s*DifferentiableOperation"#)
    var names: Set<String> = []
    let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
    for case let file as URL in files where file.pathExtension == "swift" {
      for match in try String(contentsOf: file, encoding: .utf8).matches(of: declaration) {
        names.insert(String(match.output[1].substring ?? ""))
      }
    }
    names.remove("NoOperation")  // a leaf's placeholder
    return names
  }

  /// The operation types the catalogue's rows record: in their results' graphs and in the graphs
  /// of their recorded backward passes (operations that pullbacks use).
  static func exercisedOperationTypes() -> Set<String> {
    var names: Set<String> = []
    func collect(_ root: Variable<Double>) {
      for node in root.graphNodes() {
        if let operation = node.operation {
          names.insert(String(String(describing: type(of: operation)).prefix { $0 != "<" }))
        }
      }
    }
    for row in catalogue(Double.self) {
      for shapeSet in shapes(for: row.arity, name: row.name) {
        var rng = SeededRandomNumberGenerator(seed: 3)
        let inputs = shapeSet.map {
          Variable(
            randomTensor($0, in: row.range, awayFromZeroBy: row.margin, using: &rng) as Tensor<Double>,
            requiresGrad: true)
        }
        let loss = row.apply(inputs).sum()
        collect(loss)
        for gradient in gradients(of: loss, withRespectTo: inputs, createGraph: true) { collect(gradient) }
      }
    }
    return names
  }

  @Test("Every operation type in the sources has a catalogue row that records it")
  func everyOperationIsCatalogued() throws {
    let declared = try Self.declaredOperationTypes()
    #expect(declared.count >= 20, "the scan of Sources/ found only \(declared.sorted())")
    let missing = declared.subtracting(Self.exercisedOperationTypes())
    #expect(
      missing.isEmpty,
      "operation types without a catalogue row (add one to catalogue(_:)): \(missing.sorted())")
  }
}

/// The row-major multi-index of a flat position.
func multiIndexForTest(_ flat: Int, in shape: [Int]) -> [Int] {
  var index = [Int](repeating: 0, count: shape.count)
  var rest = flat
  for axis in stride(from: shape.count - 1, through: 0, by: -1) {
    index[axis] = rest % shape[axis]
    rest /= shape[axis]
  }
  return index
}

/// ⟨u, J·v⟩ from the tangent rules (dual variables) and ⟨Jᵀ·u, v⟩ from a plain backward pass:
/// the two sides of the dot-product test that checks an operation's tangent rule against its
/// pullback.
func dotProductTest<Scalar: TensorScalar>(
  _ function: ([Variable<Scalar>]) -> Variable<Scalar>, at inputs: [Tensor<Scalar>],
  tangents: [Tensor<Scalar>],
  cotangent u: Tensor<Scalar>
) -> (left: Scalar, right: Scalar) {
  let jv =
    function(zip(inputs, tangents).map { Variable($0, tangent: $1) }).tangent?.value ?? Tensor(zeros: u.shape)
  let variables = inputs.map { Variable($0, requiresGrad: true) }
  let transposed = gradients(of: function(variables), withRespectTo: variables, seed: u)
  let left = (u * jv).sum().scalar
  let right = zip(transposed, tangents).map { ($0.value * $1).sum().scalar }.reduce(0, +)
  return (left, right)
}
