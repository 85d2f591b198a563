import Backprop
import BackpropTestSupport
import Dispatch
import Synchronization
import Testing

@Suite("Conventions at non-differentiable points")
struct ConventionTests {
  /// The documented table (DESIGN.md, "Conventions"): the gradient each operation gives at its
  /// kink or domain edge.
  @Test(
    "Documented gradient at the point",
    arguments: [
      ("relu′(0) = 0", 0.0, 0.0),
      ("abs′(0) = 0", 0.0, 0.0),
      ("sqrt′(0) = +∞", 0.0, Double.infinity),
      ("log′(0) = +∞", 0.0, Double.infinity),
      ("pow(x, 0.5)′(0) = +∞", 0.0, Double.infinity),
      ("pow(x, 2)′(0) = 0", 0.0, 0.0),
    ])
  func convention(label: String, point: Double, expected: Double) {
    let x = Variable(point, requiresGrad: true)
    let y: Variable<Double> =
      switch label.prefix(4) {
      case "relu": relu(x)
      case "abs′": abs(x)
      case "sqrt": sqrt(x)
      case "log′": log(x)
      default: label.contains("0.5") ? pow(x, 0.5) : pow(x, 2)
      }
    y.backward()
    #expect(x.grad?.scalar == expected, "\(label)")
  }
}

@Suite("Numerical stability")
struct StabilityTests {
  @Test("sigmoid(±1000) and tanh(±1000) are finite with correct gradients")
  func saturatedActivations() {
    let x = Variable(Tensor<Double>([-1000, 1000]), requiresGrad: true)
    let s = sigmoid(x)
    #expect(s.value == Tensor([0, 1]))
    s.sum().backward()
    #expect(x.grad == Tensor([0, 0]))
    x.zeroGrad()
    tanh(x).sum().backward()
    #expect(x.grad == Tensor([0, 0]))
  }

  @Test("softmaxCrossEntropy with logits ±1000 is finite and its gradient is softmax − labels")
  func softmaxCrossEntropyExtremes() {
    let extremes: Tensor<Double> = [[1000, -1000, 0], [-1000, 1000, 999]]
    let logits = Variable(extremes, requiresGrad: true)
    let labels: Tensor<Double> = [[1, 0, 0], [0, 0, 1]]
    let loss = softmaxCrossEntropy(logits: logits, target: labels)
    #expect(loss.value.isFinite)
    #expect(isClose(loss.value.scalar, (0 + 1.3132616875182228) / 2, absoluteTolerance: 1e-12))
    loss.backward()
    let grad = logits.grad!
    #expect(grad.isFinite)
    // softmax of row 2 = [0, e/(1+e), 1/(1+e)]
    let p = 1 / (1 + 1 / 2.718281828459045)
    let expected = try! Tensor<Double>(rows: [[0, 0, 0], [0, p / 2, (1 - p - 1) / 2]])
    #expect(isClose(grad, expected, absoluteTolerance: 1e-12))
  }

  @Test("sigmoidCrossEntropy with logits ±100 is finite with gradient σ(x) − z")
  func sigmoidCrossEntropyExtremes() {
    let logits = Variable(Tensor<Double>([100, -100, 100, -100]), requiresGrad: true)
    let labels: Tensor<Double> = [1, 0, 0, 1]
    let loss = sigmoidCrossEntropy(logits: logits, target: labels)
    #expect(isClose(loss.value.scalar, 200.0 / 4, absoluteTolerance: 1e-12))
    loss.backward()
    #expect(isClose(logits.grad!, Tensor([0, 0, 0.25, -0.25]), absoluteTolerance: 1e-12))
  }

  @Test("Float stays finite too")
  func floatExtremes() {
    let x = Variable(Tensor<Float>([-1000, 1000]), requiresGrad: true)
    let loss = softmaxCrossEntropy(logits: x, target: Tensor<Float>([0, 1])) + sigmoid(x).sum()
    loss.backward()
    #expect(loss.value.isFinite && x.grad!.isFinite)
  }
}

@Suite("Memory and graph size")
struct MemoryTests {
  @Test("Intermediates are released when the graph is dropped; 10,000 steps stay flat")
  func trainingLoopReleasesGraphs() {
    countingLiveVariables { counter in
      var rng = SeededRandomNumberGenerator(seed: 3)
      let w = Variable(Tensor<Double>(randomNormal: [4, 3], using: &rng), requiresGrad: true)
      let b = Variable(Tensor<Double>(zeros: [3]), requiresGrad: true)
      let x = Variable(Tensor<Double>(randomNormal: [8, 4], using: &rng))
      let target = Tensor<Double>(randomUniform: [8, 3], using: &rng)
      let baseline = counter.count
      var afterFirstStep = 0
      for step in 1...10_000 {
        do {
          let loss = meanSquaredError(predicted: tanh(matmul(x, w) + b), target: target)
          loss.backward()
          withoutGradients {
            w.value -= w.grad! * 0.01
            b.value -= b.grad! * 0.01
          }
          w.zeroGrad()
          b.zeroGrad()
        }
        if step == 1 { afterFirstStep = counter.count }
      }
      #expect(afterFirstStep == baseline)
      #expect(counter.count == baseline)
    }
  }

  @Test("A live graph is counted, and freed when its result goes away")
  func counterSeesGraph() {
    countingLiveVariables { counter in
      let x = Variable(1.0, requiresGrad: true)
      do {
        var y = x
        for _ in 0..<100 { y = y * 1.01 }
        #expect(counter.count > 100)
      }
      #expect(counter.count == 1)
    }
  }

  @Test("Dropping a result frees only the nodes nothing else holds; a kept intermediate still differentiates")
  func partialRelease() {
    func chain(_ x: Variable<Double>, keepingAt kept: Int, _ keep: (Variable<Double>) -> Void) -> Variable<
      Double
    > {
      var y = x
      for i in 0..<50 {
        y = y * x + y  // fan-out: y is read twice, x by every step
        if i == kept { keep(y) }
      }
      return y
    }
    countingLiveVariables { counter in
      let x = Variable(0.01, requiresGrad: true)
      var kept: Variable<Double>? = nil
      do {
        let result = chain(x, keepingAt: 20) { kept = $0 }
        #expect(counter.count == 1 + 100 && result.value.isFinite)
      }
      // Two nodes per step up to the kept one survive, with their inputs intact.
      #expect(counter.count == 1 + 42)
      kept!.backward()
      let reference = Variable(0.01, requiresGrad: true)
      var referenceKept: Variable<Double>? = nil
      _ = chain(reference, keepingAt: 20) { referenceKept = $0 }
      referenceKept!.backward()
      #expect(x.grad == reference.grad && x.grad!.scalar > 1)
      referenceKept = nil
      kept = nil
      #expect(counter.count == 2)
    }
  }

  @Test("Branches that read each other's nodes keep what they read, and all of it goes with the last result")
  func branchesAcrossGraphs() {
    countingLiveVariables { counter in
      let x = Variable(0.5, requiresGrad: true)
      var loss: Variable<Double>? = nil
      var branch: Variable<Double>? = nil
      do {
        let h = tanh(x * 3)  // one chain: x·3, tanh
        let a = h * 2  // reads the chain's newest node: joins it
        let b = h + 1  // h is no longer the newest: a branch of its own, reading h
        branch = b
        loss = a * b + sin(b)  // reads both chains
      }
      #expect(counter.count == 1 + 7 && loss!.value.isFinite)
      loss = nil
      // b and what it reads (h and x·3) stay; a, a·b, sin(b) and the sum are gone.
      #expect(counter.count == 1 + 3)
      branch!.backward()
      let t = Tensor<Double>(1.5).tanh().scalar
      #expect(isClose(x.grad!.scalar, 3 * (1 - t * t), relativeTolerance: 1e-12))
      branch = nil
      #expect(counter.count == 1)
    }
  }

  @Test("A graph of many chunks is freed and its chunks serve the next graph, on any thread")
  func chunksAreReused() {
    @Sendable func run() -> Double {
      let x = Variable(1.0, requiresGrad: true)
      var y = x
      for i in 0..<2_000 { y = i % 2 == 0 ? y * 1.0001 : y + 0.5 }
      y.backward()
      return x.grad!.scalar
    }
    let expected = Foundation_pow(1.0001, 1_000)
    let results = Mutex<[Double]>([])
    DispatchQueue.concurrentPerform(iterations: 4) { _ in
      let values = (0..<3).map { _ in run() }
      results.withLock { $0 += values }
    }
    #expect(results.withLock { $0.allSatisfy { isClose($0, expected, relativeTolerance: 1e-12) } })
  }

  @Test("backward through a chain of 100,000 operations, and its release, need no deep recursion")
  func deepChain() {
    let x = Variable(1.0, requiresGrad: true)
    var y = x
    for _ in 0..<100_000 { y = y + 1e-6 * y }
    y.backward()
    let expected = Foundation_pow(1 + 1e-6, 100_000)
    #expect(isClose(x.grad!.scalar, expected, relativeTolerance: 1e-9))
  }
}

/// (1 + ε)^n without Foundation.
func Foundation_pow(_ base: Double, _ n: Int) -> Double {
  (0..<n).reduce(1.0) { value, _ in value * base }
}

@Suite("Concurrency")
struct ConcurrencyTests {
  /// A small training run that owns every variable it touches.
  static func train(seed: UInt64) -> [Double] {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let w = Variable(Tensor<Double>(randomNormal: [3, 2], using: &rng), requiresGrad: true)
    let x = Variable(Tensor<Double>(randomNormal: [5, 3], using: &rng))
    let target = Tensor<Double>(randomUniform: [5, 2], using: &rng)
    for _ in 0..<300 {
      let loss = squaredError(predicted: sigmoid(matmul(x, w)), target: target)
      loss.backward()
      w.value -= w.grad! * 0.1
      w.zeroGrad()
    }
    return w.value.scalars
  }

  @Test("Two threads training two models get the same numbers as running them in turn")
  func twoModelsInParallel() {
    let sequential = [Self.train(seed: 1), Self.train(seed: 2)]
    let results = Mutex<[[Double]]>([[], []])
    DispatchQueue.concurrentPerform(iterations: 2) { i in
      let weights = Self.train(seed: UInt64(i + 1))
      results.withLock { $0[i] = weights }
    }
    #expect(results.withLock { $0 } == sequential)
  }

  @Test("withoutGradients on one thread does not switch recording off on another")
  func modeIsPerThread() {
    let recorded = Mutex<[Bool]>([false, false])
    DispatchQueue.concurrentPerform(iterations: 2) { i in
      let x = Variable(1.0, requiresGrad: true)
      let isRecorded =
        i == 0
        ? withoutGradients { (0..<10_000).reduce(x) { y, _ in y * 1 }.requiresGrad }
        : (0..<10_000).reduce(x) { y, _ in y * 1 }.requiresGrad
      recorded.withLock { $0[i] = isRecorded }
    }
    #expect(recorded.withLock { $0 } == [false, true])
  }

  @Test("A task started inside withoutGradients keeps its settings after the scope has ended")
  func inheritedScopeOutlivesItsBody() async {
    let started = withoutGradients {
      Task { () -> Bool in
        let x = Variable(1.0, requiresGrad: true)
        return (x * 2).requiresGrad
      }
    }
    // The scope has ended here; the task may run only now, and still sees recording off.
    #expect(await started.value == false)
    #expect((Variable(1.0, requiresGrad: true) * 2).requiresGrad)
  }
}

@Suite("Anomaly detection")
struct AnomalyTests {
  // The offending operations live in plain functions of this file, so that the reported
  // location is this file rather than the test macro's expansion.
  static func squareRootOfNegative() {
    withAnomalyDetection {
      let x = Variable(Tensor<Double>([-1, 4]), requiresGrad: true)
      _ = sqrt(x)
    }
  }

  static func squareRootAtZero() {
    withAnomalyDetection {
      let x = Variable(Tensor<Double>([0, 4]), requiresGrad: true)
      sqrt(x).sum().backward()
    }
  }

  @Test("A NaN in the forward pass stops, naming the operation, shape and source line")
  func forwardAnomaly() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      AnomalyTests.squareRootOfNegative()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("forward of sqrt"))
    #expect(message.contains("[2]"))
    #expect(message.contains("RobustnessTests.swift:"))
  }

  @Test("An infinite gradient in the backward pass stops, naming the operation")
  func backwardAnomaly() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      AnomalyTests.squareRootAtZero()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("backward of sqrt"))
    #expect(message.contains("RobustnessTests.swift:"))
  }

  @Test("Without anomaly detection NaN simply flows")
  func noDetection() {
    let x = Variable(Tensor<Double>([-1]), requiresGrad: true)
    #expect(sqrt(x).value.scalars[0].isNaN)
  }
}
