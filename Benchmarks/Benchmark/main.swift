// The benchmark: `swift run -c release Benchmark [--json] [--runs N] [--only NAME,…] [--threads N]
// [--memory-steps N] [--memory-workload mlp_step|cnn_mnist_step] [--scale F]`.
//
// Workloads (see PERFORMANCE.md, "Measuring"): articles_step, scalar_graph, rosenbrock_scalar, hvp, jvp, mlp_step,
// data_parallel (only when named, built with the MPI trait, under mpirun),
// cnn_digits_step, cnn_mnist_step, conv2d, transformer_step, digits_train,
// gemm, memory. Each number is the median of `--runs` runs (at least 5) after a warm-up. Benchmarks are
// programs, never timed tests.
import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

struct Options {
  var json = false
  var runs = 7
  var only: Set<String>? = nil
  var memorySteps = 10_000
  var memoryWorkload = "mlp_step"
  /// Scales every batch's repetition count (at least 1), e.g. 0.01 for a quick run under a
  /// profiler or an instruction counter.
  var scale = 1.0
  /// Threads for matrix products; 1 by default, so that numbers compare with single-threaded
  /// PyTorch and NumPy. mlp_step is also measured with every processor.
  var threads = 1

  init(_ arguments: [String]) {
    var iterator = arguments.dropFirst().makeIterator()
    while let argument = iterator.next() {
      switch argument {
      case "--json": json = true
      case "--runs": runs = max(5, Int(iterator.next() ?? "") ?? runs)
      case "--only": only = Set((iterator.next() ?? "").split(separator: ",").map(String.init))
      case "--memory-steps": memorySteps = max(1_000, Int(iterator.next() ?? "") ?? memorySteps)
      case "--memory-workload":
        memoryWorkload = iterator.next() == "cnn_mnist_step" ? "cnn_mnist_step" : "mlp_step"
      case "--scale": scale = max(0, Double(iterator.next() ?? "") ?? scale)
      case "--threads": threads = max(1, Int(iterator.next() ?? "") ?? threads)
      default:
        print(
          "usage: Benchmark [--json] [--runs N (≥ 5)] [--only articles_step,scalar_graph,rosenbrock_scalar,hvp,jvp,mlp_step,"
            + "cnn_digits_step,cnn_mnist_step,conv2d,transformer_step,digits_train,gemm,memory] "
            + "[--threads N] [--memory-steps N (≥ 1000)] [--memory-workload mlp_step|cnn_mnist_step] "
            + "[--scale F (repetitions × F)]")
        exit(2)
      }
    }
  }

  func wants(_ name: String) -> Bool { only?.contains(name) ?? true }
}

struct Result {
  var name: String
  var value: Double
  var unit: String
  var detail: String
}

/// Seconds for one call of `body`, the median of `runs` timed batches of `repeats` calls.
func median(runs: Int, repeats: Int, _ body: () -> Void) -> Double {
  let repeats = max(1, Int((Double(repeats) * options.scale).rounded()))
  // Warm-up: at least one call and a quarter of a second, so that caches, the allocator and
  // the thread pool are in their steady state. Dispatch starts its worker threads lazily; a
  // product's first parallel runs are partly serial, which made the first 2-thread mlp_step
  // of a process read 2.1 ms where the steady state is 1.3 ms.
  let clock = ContinuousClock()
  let warmUpEnd = clock.now.advanced(by: .milliseconds(Int(250 * min(1, options.scale))))
  repeat { body() } while clock.now < warmUpEnd
  var samples: [Double] = []
  for _ in 0..<runs {
    let elapsed = clock.measure { for _ in 0..<repeats { body() } }
    let (seconds, attoseconds) = elapsed.components
    samples.append((Double(seconds) + Double(attoseconds) * 1e-18) / Double(repeats))
  }
  samples.sort()
  return samples[samples.count / 2]
}

/// BrainsToBytes' 3-4-1 ReLU network, one per-sample SGD step in Double.
func articlesStep(runs: Int) -> Result {
  var rng = SeededRandomNumberGenerator(seed: 2)
  let w1 = Variable(Tensor<Double>(randomUniform: [3, 4], using: &rng), requiresGrad: true)
  let w2 = Variable(Tensor<Double>(randomUniform: [4, 1], using: &rng), requiresGrad: true)
  let sgd = SGD(parameters: [w1, w2], learningRate: 0.1)
  let inputs: [Tensor<Double>] = [[[1, 1, 1]], [[1, 1, 0]], [[0, 1, 0]], [[0, 1, 1]]]
  let expected: [Tensor<Double>] = [[[1]], [[0]], [[1]], [[0]]]
  var sample = 0
  let seconds = median(runs: runs, repeats: 20_000) {
    let x = Variable(inputs[sample])
    sgd.zeroGrad()
    squaredError(predicted: matmul(relu(matmul(x, w1)), w2), target: expected[sample]).backward()
    sgd.step()
    sample = (sample + 1) & 3
  }
  return Result(
    name: "articles_step", value: seconds * 1e6, unit: "µs/step", detail: "3-4-1 ReLU, Double, SGD")
}

/// A micrograd-style graph of 1,000 scalar operations (mul, add, tanh, relu), built and
/// back-propagated.
func scalarGraph(runs: Int) -> Result {
  let operations = 1_000
  let seconds = median(runs: runs, repeats: 200) {
    let a = Variable(0.5, requiresGrad: true)
    let b = Variable(-0.3, requiresGrad: true)
    var x = a
    for i in 0..<(operations / 4) {
      x = x * b  // mul
      x = x + a  // add
      x = i % 2 == 0 ? tanh(x) : relu(x)  // tanh / relu
      x = x + 0.1  // add
    }
    x.backward()
  }
  return Result(
    name: "scalar_graph", value: seconds / Double(operations) * 1e9, unit: "ns/op",
    detail: "\(operations) ops, build + backward")
}

/// The gradient of the 1,000-dimensional Rosenbrock function, f(x) = Σᵢ 100·(xᵢ₊₁ − xᵢ²)² +
/// (1 − xᵢ)², written with one scalar variable per coordinate (about 8,000 recorded operations),
/// in Double; and beside it the same gradient written by hand in plain Swift, and the ratio.
func rosenbrockScalar(runs: Int) -> [Result] {
  let n = 1_000
  var rng = SeededRandomNumberGenerator(seed: 5)
  let start = (0..<n).map { _ in Double.random(in: -2...2, using: &rng) }
  var sink = 0.0
  let tape = median(runs: runs, repeats: 20) {
    let x = start.map { Variable($0, requiresGrad: true) }
    var f = Variable(0.0)
    for i in 0..<(n - 1) {
      let a = x[i + 1] - x[i] * x[i]
      let b = 1 - x[i]
      f = f + 100 * (a * a) + b * b
    }
    f.backward()
    sink += x[n - 1].grad!.scalar
  }
  // ∂f/∂xᵢ = −400·xᵢ·(xᵢ₊₁ − xᵢ²) − 2·(1 − xᵢ) for i < n − 1, plus 200·(xᵢ − xᵢ₋₁²) for i > 0.
  let hand = median(runs: runs, repeats: 20_000) {
    var gradient = [Double](repeating: 0, count: n)
    start.withUnsafeBufferPointer { x in
      gradient.withUnsafeMutableBufferPointer { g in
        for i in 0..<(n - 1) {
          let a = x[i + 1] - x[i] * x[i]
          g[i] += -400 * x[i] * a - 2 * (1 - x[i])
          g[i + 1] += 200 * a
        }
      }
    }
    sink += gradient[n - 1]
  }
  precondition(sink.isFinite)
  return [
    Result(
      name: "rosenbrock_scalar", value: tape * 1e6, unit: "µs/gradient",
      detail: "1,000 scalar variables, Double, build + backward"),
    Result(
      name: "rosenbrock_hand", value: hand * 1e6, unit: "µs/gradient", detail: "written by hand in Swift"),
    Result(name: "rosenbrock_ratio", value: tape / hand, unit: "×", detail: "the tape ÷ by hand"),
  ]
}

/// The Hessian-vector product of a 32-64-10 tanh network's mean squared error (batch 64, Double)
/// with respect to its 2,688 parameters, flattened into one vector: reverse over reverse (what
/// `hessianVectorProduct` does) beside forward over reverse (the `jvp` of the recorded gradient),
/// and their ratio.
func hessianVectorProducts(runs: Int) -> [Result] {
  var rng = SeededRandomNumberGenerator(seed: 1)
  let x = Tensor<Double>(randomUniform: [64, 32], lowerBound: -1, upperBound: 1, using: &rng)
  let y = Tensor<Double>(randomUniform: [64, 10], lowerBound: -1, upperBound: 1, using: &rng)
  let (first, second) = (32 * 64, 64 * 10)
  let theta = Tensor<Double>(randomUniform: [first + second], lowerBound: -0.2, upperBound: 0.2, using: &rng)
  let v = Tensor<Double>(randomUniform: [first + second], lowerBound: -1, upperBound: 1, using: &rng)
  func loss(_ p: Variable<Double>) -> Variable<Double> {
    let w1 = p[0..<first].reshaped(to: [32, 64])
    let w2 = p[first..<(first + second)].reshaped(to: [64, 10])
    return meanSquaredError(predicted: matmul(tanh(matmul(Variable(x), w1)), w2), target: y)
  }
  var sink = 0.0
  let reverse = median(runs: runs, repeats: 50) {
    sink += hessianVectorProduct(of: loss, at: theta, vector: v)[scalarAt: 0]
  }
  let forward = median(runs: runs, repeats: 50) {
    let gradient = { (p: Variable<Double>) in gradients(of: loss(p), withRespectTo: [p], createGraph: true)[0]
    }
    sink += jvp(of: gradient, at: theta, tangent: v).tangent[scalarAt: 0]
  }
  precondition(sink.isFinite)
  return [
    Result(
      name: "hvp", value: reverse * 1e6, unit: "µs", detail: "reverse over reverse, 2,688 parameters, Double"),
    Result(name: "hvp_forward_over_reverse", value: forward * 1e6, unit: "µs", detail: "jvp of the gradient"),
    Result(
      name: "hvp_ratio", value: forward / reverse, unit: "×",
      detail: "forward over reverse ÷ reverse over reverse"),
  ]
}

/// MLP 784-256-128-10, batch 128, Float, ReLU, mean squared error, one SGD step.
final class MLPStep {
  let model: Sequential<Float>
  let sgd: SGD<Float>
  let x: Variable<Float>
  let y: Tensor<Float>

  init() {
    var rng = SeededRandomNumberGenerator(seed: 1)
    model = Sequential {
      Dense<Float>(inputSize: 784, outputSize: 256, activation: .relu, using: &rng)
      Dense<Float>(inputSize: 256, outputSize: 128, activation: .relu, using: &rng)
      Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
    }
    sgd = SGD(parameters: model.parameters, learningRate: 0.01)
    x = Variable(Tensor(randomUniform: [128, 784], using: &rng))
    y = Tensor(randomUniform: [128, 10], using: &rng)
  }

  func step() {
    sgd.zeroGrad()
    meanSquaredError(predicted: model(x), target: y).backward()
    sgd.step()
  }
}

func mlpStep(runs: Int) -> Result {
  let mlp = MLPStep()
  let seconds = median(runs: runs, repeats: 5) { mlp.step() }
  return Result(
    name: "mlp_step", value: seconds * 1e3, unit: "ms/step", detail: "784-256-128-10, batch 128, Float")
}

/// The Digits example's CNN (conv3×3(16, pad 1)-ReLU-conv3×3(32, pad 1)-ReLU-maxpool 2-flatten-
/// dense 64-ReLU-dense 10).
func digitsCNN(using rng: inout SeededRandomNumberGenerator) -> Sequential<Float> {
  Sequential {
    Conv2D<Float>(
      inputChannelCount: 1, outputChannelCount: 16, kernelSize: 3, padding: 1, activation: .relu, using: &rng)
    Conv2D<Float>(
      inputChannelCount: 16, outputChannelCount: 32, kernelSize: 3, padding: 1, activation: .relu, using: &rng
    )
    MaxPool2D<Float>(kernelSize: 2)
    Flatten<Float>()
    Dense<Float>(inputSize: 512, outputSize: 64, activation: .relu, using: &rng)
    Dense<Float>(inputSize: 64, outputSize: 10, using: &rng)
  }
}

/// The digits CNN on a batch of 32 8×8 images, Float, cross-entropy, one Adam step.
func cnnDigitsStep(runs: Int) -> Result {
  var rng = SeededRandomNumberGenerator(seed: 1)
  let model = digitsCNN(using: &rng)
  let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
  let x = Variable(Tensor<Float>(randomUniform: [32, 1, 8, 8], using: &rng))
  let labels = (0..<32).map { $0 % 10 }
  let seconds = median(runs: runs, repeats: 50) {
    adam.zeroGrad()
    softmaxCrossEntropy(logits: model(x), target: labels).backward()
    adam.step()
  }
  return Result(
    name: "cnn_digits_step", value: seconds * 1e3, unit: "ms/step",
    detail: "digits CNN, batch 32 of 8×8, Float, Adam")
}

/// PyTorch's MNIST example network: conv3×3(32)-ReLU-maxpool 2-conv3×3(64)-ReLU-maxpool 2-
/// flatten-dense 128-ReLU-dense 10, no padding, on a batch of 64 1×28×28 images, Float,
/// cross-entropy, one SGD step.
func cnnMNISTStep(runs: Int) -> Result {
  let step = makeMNISTStep()
  let seconds = median(runs: runs, repeats: 5, step)
  return Result(
    name: "cnn_mnist_step", value: seconds * 1e3, unit: "ms/step",
    detail: "MNIST CNN, batch 64 of 28×28, Float, SGD")
}

/// PyTorch's MNIST CNN (conv3×3(32)-ReLU-maxpool2-conv3×3(64)-ReLU-maxpool2-flatten-dense 128-
/// ReLU-dense 10), the network of cnn_mnist_step and data_parallel.
func mnistCNN(using rng: inout SeededRandomNumberGenerator) -> Sequential<Float> {
  Sequential {
    Conv2D<Float>(inputChannelCount: 1, outputChannelCount: 32, kernelSize: 3, activation: .relu, using: &rng)
    MaxPool2D<Float>(kernelSize: 2)
    Conv2D<Float>(
      inputChannelCount: 32, outputChannelCount: 64, kernelSize: 3, activation: .relu, using: &rng)
    MaxPool2D<Float>(kernelSize: 2)
    Flatten<Float>()
    Dense<Float>(inputSize: 64 * 5 * 5, outputSize: 128, activation: .relu, using: &rng)
    Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
  }
}

/// One training step of the MNIST network, ready to repeat.
func makeMNISTStep() -> () -> Void {
  var rng = SeededRandomNumberGenerator(seed: 1)
  let model = mnistCNN(using: &rng)
  let sgd = SGD(parameters: model.parameters, learningRate: 0.01)
  let x = Variable(Tensor<Float>(randomUniform: [64, 1, 28, 28], using: &rng))
  let labels = (0..<64).map { $0 % 10 }
  return {
    sgd.zeroGrad()
    softmaxCrossEntropy(logits: model(x), target: labels).backward()
    sgd.step()
  }
}

/// One convolution layer, forward and both gradients: N 32, C 16 → 32, 28×28, 3×3, pad 1,
/// Float, in GFLOPS counting 2 flops per multiply-add of the three products.
func convolution(runs: Int) -> Result {
  var rng = SeededRandomNumberGenerator(seed: 4)
  let x = Variable(Tensor<Float>(randomUniform: [32, 16, 28, 28], using: &rng), requiresGrad: true)
  let w = Variable(Tensor<Float>(randomUniform: [32, 16, 3, 3], using: &rng), requiresGrad: true)
  let seconds = median(runs: runs, repeats: 3) {
    x.zeroGrad()
    w.zeroGrad()
    conv2d(x, w, padding: 1).sum().backward()
  }
  let flops = 3 * 2 * Double(32 * 32 * 16 * 9 * 28 * 28)
  return Result(
    name: "conv2d", value: flops / seconds / 1e9, unit: "GFLOPS",
    detail: "32×16×28×28 → 32 channels, 3×3, fwd+bwd")
}

/// The Addition example's GPT (2 pre-LayerNorm causal blocks, model size 64, 4 heads,
/// feed-forward 256, vocabulary 12, 8 positions) on a batch of 64, Float, sequence cross-entropy
/// over the last 3 positions, gradient clipping and one AdamW step.
func transformerStep(runs: Int) -> Result {
  var rng = SeededRandomNumberGenerator(seed: 7)
  let (vocabulary, length, size) = (12, 8, 64)
  let tokens = Embedding<Float>(
    vocabularySize: vocabulary, embeddingSize: size, standardDeviation: 0.02, using: &rng)
  let positions = PositionalEmbedding<Float>(maximumLength: length, embeddingSize: size, using: &rng)
  let blocks = (0..<2).map { _ in
    TransformerBlock<Float>(
      modelSize: size, headCount: 4, feedForwardSize: 4 * size, causal: true, using: &rng)
  }
  let norm = LayerNorm<Float>(featureCount: size)
  let head = Dense<Float>(inputSize: size, outputSize: vocabulary, using: &rng)
  let parameters =
    tokens.parameters + positions.parameters + blocks.flatMap(\.parameters) + norm.parameters
    + head.parameters
  let optimizer = AdamW(parameters: parameters, learningRate: 1e-3, weightDecay: 0.01)
  let sequences = (0..<64).map { _ in (0..<length).map { _ in Int.random(in: 0..<vocabulary, using: &rng) } }
  let targets = sequences.flatMap { sequence in
    (0..<length).map { $0 >= 5 ? sequence[($0 + 1) % length] : -100 }
  }
  let seconds = median(runs: runs, repeats: 20) {
    optimizer.zeroGrad()
    var x = positions(tokens(sequences))
    for block in blocks { x = block(x) }
    softmaxCrossEntropy(logits: head(norm(x)), target: targets, ignoreIndex: -100).backward()
    clipGradients(of: parameters, maxNorm: 1)
    optimizer.step()
  }
  return Result(
    name: "transformer_step", value: seconds * 1e3, unit: "ms/step",
    detail: "Addition GPT, batch 64 of 8 tokens, Float, AdamW")
}

/// The Digits example's training, 30 epochs of Adam (lr 1e-3) and batch 32 over the 1,438
/// training images, for the MLP and for the CNN; the seconds of one whole training each.
func digitsTraining(runs: Int) -> [Result] {
  guard let data = try? LabeledCSV.read(from: "Examples/Data/digits.csv", as: Float.self) else {
    print("digits_train: Examples/Data/digits.csv not found; run from the repository's root")
    return []
  }
  let rows = data.labels.indices.filter { $0 % 5 != 4 }
  let images = (data.features / 16).gathering(atIndices: rows, alongAxis: 0)
  let labels = rows.map { data.labels[$0] }
  func train(_ model: Sequential<Float>, _ inputs: Tensor<Float>) {
    var rng = SeededRandomNumberGenerator(seed: 2)
    let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
    for _ in 0..<30 {
      for batch in Minibatches(inputs: inputs, labels: labels, batchSize: 32, shuffledUsing: &rng) {
        adam.zeroGrad()
        softmaxCrossEntropy(logits: model(Variable(batch.inputs)), target: batch.labels).backward()
        adam.step()
      }
    }
  }
  let mlp = median(runs: runs, repeats: 1) {
    var rng = SeededRandomNumberGenerator(seed: 1)
    train(
      Sequential {
        Dense<Float>(inputSize: 64, outputSize: 128, activation: .relu, using: &rng)
        Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
      }, images)
  }
  let cnn = median(runs: runs, repeats: 1) {
    var rng = SeededRandomNumberGenerator(seed: 1)
    train(digitsCNN(using: &rng), images.reshaped(to: [labels.count, 1, 8, 8]))
  }
  return [
    Result(
      name: "digits_train_mlp", value: mlp, unit: "s", detail: "30 epochs, 1,438 images, batch 32, Adam"),
    Result(
      name: "digits_train_cnn", value: cnn, unit: "s", detail: "30 epochs, 1,438 images, batch 32, Adam"),
  ]
}

func gemm<Scalar: TensorScalar>(_: Scalar.Type, size: Int, runs: Int) -> Result {
  var rng = SeededRandomNumberGenerator(seed: 3)
  let a = Tensor<Scalar>(randomUniform: [size, size], using: &rng)
  let b = Tensor<Scalar>(randomUniform: [size, size], using: &rng)
  var sink: Scalar = 0
  let repeats = max(1, 256 * 256 * 256 * 8 / (size * size * size))
  let seconds = median(runs: runs, repeats: repeats) { sink += matmul(a, b)[scalarAt: 0] }
  if sink.isNaN { print("") }
  let flops = 2 * Double(size) * Double(size) * Double(size)
  return Result(
    name: "gemm_\(Scalar.self == Float.self ? "f32" : "f64")_\(size)", value: flops / seconds / 1e9,
    unit: "GFLOPS",
    detail: "\(size)×\(size)")
}

/// Resident memory in kB (`VmRSS`, or the peak `VmHWM`), or 0 where /proc is unavailable.
///
/// Parsed as ASCII bytes: the first call of `Character.isNumber` maps pages of the standard
/// library's Unicode tables into memory, so a probe that used it would itself add about half a
/// MiB between its first reading (step 1,000) and its second.
func residentKilobytes(_ field: String = "VmRSS:") -> Int {
  guard let file = fopen("/proc/self/status", "r") else { return 0 }
  defer { fclose(file) }
  var line = [CChar](repeating: 0, count: 256)
  let prefix = Array(field.utf8)
  while fgets(&line, Int32(line.count), file) != nil {
    let bytes = line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    guard bytes.starts(with: prefix) else { continue }
    var kilobytes = 0
    for byte in bytes.dropFirst(prefix.count) where byte >= 48 && byte <= 57 {
      kilobytes = kilobytes * 10 + Int(byte - 48)
    }
    return kilobytes
  }
  return 0
}

/// Resident memory at step 1,000 and at the last step of `workload` (mlp_step or
/// cnn_mnist_step), and its growth between them.
func memory(steps: Int, workload: String) -> [Result] {
  let step: () -> Void
  if workload == "cnn_mnist_step" {
    step = makeMNISTStep()
  } else {
    let mlp = MLPStep()
    step = mlp.step
  }
  var atThousand = 0
  _ = residentKilobytes()  // stdio's buffers for the probe exist before the first reading
  for index in 1...steps {
    step()
    if index == 1_000 { atThousand = residentKilobytes() }
  }
  let atEnd = residentKilobytes()
  let growth = atThousand == 0 ? 0 : Double(atEnd - atThousand) / Double(atThousand) * 100
  return [
    Result(name: "memory_rss_step_1000", value: Double(atThousand) / 1024, unit: "MiB", detail: workload),
    Result(name: "memory_rss_step_\(steps)", value: Double(atEnd) / 1024, unit: "MiB", detail: workload),
    Result(name: "memory_growth", value: growth, unit: "%", detail: "step 1,000 → \(steps)"),
  ]
}

/// The peak resident memory of the process while `body` ran, in kB: the kernel's peak (`VmHWM`)
/// is reset first through `/proc/self/clear_refs`. 0 where that is unavailable.
func peakKilobytes(_ body: () -> Void) -> Int {
  guard let file = fopen("/proc/self/clear_refs", "w") else { return 0 }
  fputs("5", file)
  fclose(file)
  body()
  return residentKilobytes("VmHWM:")
}

/// Forward mode on the networks of mlp_step and cnn_digits_step: `jvp` of the network's output
/// with respect to its input batch, beside the plain forward pass as training runs it (recorded,
/// since the parameters require gradients), and the ratio. Then the memory of the `jvp` of a deep
/// tanh network inside `withoutGradients` (nothing is recorded), at depths 16 and 64, beside
/// `jvp(of:)` at depth 64 outside it, whose variables require gradients (the graph is kept while
/// the function runs).
func forwardMode(runs: Int) -> [Result] {
  var results = [Result]()
  var rng = SeededRandomNumberGenerator(seed: 2)
  var sink: Float = 0
  let mlp = MLPStep()
  let direction = Tensor<Float>(randomUniform: mlp.x.shape, lowerBound: -1, upperBound: 1, using: &rng)
  let mlpForward = median(runs: runs, repeats: 10) { sink += mlp.model(mlp.x).value[scalarAt: 0] }
  let mlpJVP = median(runs: runs, repeats: 10) {
    sink += jvp(of: { mlp.model($0) }, at: mlp.x.value, tangent: direction).tangent[scalarAt: 0]
  }
  let cnn = digitsCNN(using: &rng)
  let images = Tensor<Float>(randomUniform: [32, 1, 8, 8], using: &rng)
  let imageDirection = Tensor<Float>(randomUniform: images.shape, lowerBound: -1, upperBound: 1, using: &rng)
  let cnnForward = median(runs: runs, repeats: 50) { sink += cnn(Variable(images)).value[scalarAt: 0] }
  let cnnJVP = median(runs: runs, repeats: 50) {
    sink += jvp(of: { cnn($0) }, at: images, tangent: imageDirection).tangent[scalarAt: 0]
  }
  results += [
    Result(name: "jvp_mlp", value: mlpJVP * 1e3, unit: "ms", detail: "784-256-128-10, batch 128, Float"),
    Result(name: "jvp_mlp_forward", value: mlpForward * 1e3, unit: "ms", detail: "the forward pass alone"),
    Result(name: "jvp_mlp_ratio", value: mlpJVP / mlpForward, unit: "×", detail: "jvp ÷ forward"),
    Result(name: "jvp_cnn_digits", value: cnnJVP * 1e3, unit: "ms", detail: "Digits CNN, batch 32, Float"),
    Result(
      name: "jvp_cnn_digits_forward", value: cnnForward * 1e3, unit: "ms", detail: "the forward pass alone"),
    Result(name: "jvp_cnn_digits_ratio", value: cnnJVP / cnnForward, unit: "×", detail: "jvp ÷ forward"),
  ]
  // Width 512, batch 256: each activation and each tangent is 512 KiB.
  let weights = (0..<64).map { _ in
    Tensor<Float>(randomUniform: [512, 512], lowerBound: -0.05, upperBound: 0.05, using: &rng)
  }
  let x = Tensor<Float>(randomUniform: [256, 512], lowerBound: -1, upperBound: 1, using: &rng)
  let v = Tensor<Float>(randomUniform: [256, 512], lowerBound: -1, upperBound: 1, using: &rng)
  func network(_ input: Variable<Float>, depth: Int) -> Variable<Float> {
    var h = input
    for layer in 0..<depth { h = tanh(matmul(h, Variable(weights[layer]))) }
    return h
  }
  for depth in [16, 64] {
    let peak = peakKilobytes {
      sink +=
        withoutGradients { jvp(of: { network($0, depth: depth) }, at: x, tangent: v) }.tangent[scalarAt: 0]
    }
    results.append(
      Result(
        name: "jvp_memory_depth_\(depth)", value: Double(peak) / 1024, unit: "MiB",
        detail: "peak resident, jvp(of:) inside withoutGradients, tanh 512 wide, batch 256"))
  }
  let taped = peakKilobytes {
    sink += jvp(of: { network($0, depth: 64) }, at: x, tangent: v).tangent[scalarAt: 0]
  }
  results.append(
    Result(
      name: "jvp_memory_depth_64_taped", value: Double(taped) / 1024, unit: "MiB",
      detail: "jvp(of:), whose variables require gradients"))
  precondition(sink.isFinite)
  return results
}

/// Whether this process prints: always, except on the ranks other than 0 of a data-parallel run.
nonisolated(unsafe) var printsResults = true

#if MPI
  /// cnn_mnist_step's network trained data-parallel on the ranks of `mpirun`: each rank takes
  /// its share of the batch of 64 and `DataParallel` averages the gradients. Images per second of
  /// the whole batch, to set beside cnn_mnist_step's on one rank (64 images ÷ its time), and the
  /// time `step()` waits for the reductions, with DDP's 25 MB buckets (the whole network in one,
  /// reduced after the backward pass) and with 256 KB buckets (started during it).
  func dataParallelThroughput(runs: Int) -> [Result] {
    let world: MPICommunicator
    do {
      world = try MPICommunicator()
    } catch {
      print("data_parallel: \(error)")
      return []
    }
    printsResults = world.rank == 0
    var results: [Result] = []
    for (capacity, label) in [(25_000_000, ""), (262_144, "_256k_buckets")] {
      var rng = SeededRandomNumberGenerator(seed: 1)
      let model = mnistCNN(using: &rng)
      let sgd = SGD(parameters: model.parameters, learningRate: 0.01)
      let share = 64 / world.size
      let x = Variable(Tensor<Float>(randomUniform: [share, 1, 28, 28], using: &rng))
      let labels = (0..<share).map { $0 % 10 }
      guard
        let parallel = try? DataParallel(
          model: model, optimizer: sgd, communicator: world, bucketCapacity: capacity)
      else { return [] }
      // A fixed number of steps on every rank (median's warm-up is timed, and would give the
      // ranks different numbers of collective calls): 5 to warm up, then `runs` timed batches of 5.
      let clock = ContinuousClock()
      func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return Double(whole) + Double(fraction) * 1e-18
      }
      func timedSteps() -> (step: Double, wait: Double) {
        var (step, wait) = (0.0, 0.0)
        for _ in 0..<5 {
          let start = clock.now
          parallel.zeroGrad()
          softmaxCrossEntropy(logits: model(x), target: labels).backward()
          let backward = clock.now
          try? parallel.step()
          step += seconds(clock.now - start) / 5
          wait += seconds(clock.now - backward) / 5
        }
        return (step, wait)
      }
      _ = timedSteps()
      let samples = (0..<max(runs, 5)).map { _ in timedSteps() }
      // The mean of the ranks' medians, so that every rank agrees on the numbers printed.
      var medians = [
        samples.map(\.step).sorted()[samples.count / 2], samples.map(\.wait).sorted()[samples.count / 2],
      ]
      try? medians.withUnsafeMutableBufferPointer { (buffer) throws(CommunicatorError) in
        try world.allReduce(buffer)
      }
      let (step, wait) = (medians[0] / Double(world.size), medians[1] / Double(world.size))
      results += [
        Result(
          name: "data_parallel_step\(label)", value: step * 1e3, unit: "ms/step",
          detail:
            "cnn_mnist_step's network, batch 64 over \(world.size) ranks, SGD, buckets of \(capacity) bytes"),
        Result(
          name: "data_parallel_images\(label)", value: 64 / step, unit: "images/s",
          detail: "\(world.size) ranks"),
        Result(
          name: "data_parallel_wait\(label)", value: wait * 1e3, unit: "ms/step",
          detail: "step() after backward(): the reductions left to wait for, and the optimiser"),
      ]
    }
    return results
  }
#endif

let options = Options(CommandLine.arguments)
var results: [Result] = []
// Every workload runs in one scope with the requested thread count.
ParallelExecution.withThreadCount(options.threads) {
  if options.wants("articles_step") { results.append(articlesStep(runs: options.runs)) }
  if options.wants("scalar_graph") { results.append(scalarGraph(runs: options.runs)) }
  if options.wants("rosenbrock_scalar") { results += rosenbrockScalar(runs: options.runs) }
  if options.wants("hvp") { results += hessianVectorProducts(runs: options.runs) }
  #if MPI
    // Only when asked for: it needs mpirun.
    if options.only?.contains("data_parallel") == true {
      results += dataParallelThroughput(runs: options.runs)
    }
  #endif
  if options.wants("jvp") { results += forwardMode(runs: options.runs) }
  if options.wants("mlp_step") {
    results.append(mlpStep(runs: options.runs))
    let all = ParallelExecution.defaultThreadCount
    if all > 1 && options.threads == 1 {
      var parallel = ParallelExecution.withThreadCount(all) { mlpStep(runs: options.runs) }
      parallel.name += "_\(all)_threads"
      results.append(parallel)
    }
  }
  if options.wants("cnn_digits_step") { results.append(cnnDigitsStep(runs: options.runs)) }
  if options.wants("cnn_mnist_step") { results.append(cnnMNISTStep(runs: options.runs)) }
  if options.wants("conv2d") { results.append(convolution(runs: options.runs)) }
  if options.wants("transformer_step") { results.append(transformerStep(runs: options.runs)) }
  if options.wants("digits_train") { results += digitsTraining(runs: 3) }
  if options.wants("gemm") {
    for size in [256, 512, 1024] {
      results.append(gemm(Float.self, size: size, runs: options.runs))
      results.append(gemm(Double.self, size: size, runs: options.runs))
    }
  }
  if options.wants("memory") {
    results += memory(steps: options.memorySteps, workload: options.memoryWorkload)
  }
}

if !printsResults {
  // A rank other than 0 of a data-parallel run: rank 0 prints.
} else if options.json {
  let entries = results.map {
    "  {\"name\": \"\($0.name)\", \"value\": \($0.value), \"unit\": \"\($0.unit)\", \"detail\": \"\($0.detail)\"}"
  }
  print("{\"runs\": \(options.runs), \"results\": [\n" + entries.joined(separator: ",\n") + "\n]}")
} else {
  print(
    "Backprop benchmark — medians of \(options.runs) runs, release build, \(options.threads) thread"
      + (options.threads == 1 ? "" : "s")
      + ", matrix kernels \(ParallelExecution.matrixKernelInstructionSet)"
      + ", large buffers \(MallocThresholds.areRaised ? "kept (glibc mallopt)" : "system allocator policy")\n"
  )
  for result in results {
    let name = result.name.padding(toLength: 24)
    let value = String(describing: (result.value * 100).rounded() / 100).padding(toLength: 12, left: true)
    print("\(name) \(value) \(result.unit.padding(toLength: 8))  \(result.detail)")
  }
}

extension String {
  func padding(toLength length: Int, left: Bool = false) -> String {
    let pad = String(repeating: " ", count: max(0, length - count))
    return left ? pad + self : self + pad
  }
}
