import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// Data-parallel training on in-process ranks, checked as PyTorch checks DDP: N ranks training
/// on their shards end with the parameters of one process training on the whole batch.
@Suite("Data-parallel training")
struct DataParallelTests {
  /// A 4-8-3 tanh network; `seed` decides its initial weights.
  static func makeModel(seed: UInt64) -> Sequential<Double> {
    var rng = SeededRandomNumberGenerator(seed: seed)
    return Sequential {
      Dense<Double>(inputSize: 4, outputSize: 8, activation: .tanh, using: &rng)
      Dense<Double>(inputSize: 8, outputSize: 3, using: &rng)
    }
  }

  /// 24 samples of 4 features and 3 targets.
  static let data: (inputs: Tensor<Double>, targets: Tensor<Double>) = {
    var rng = SeededRandomNumberGenerator(seed: 5)
    return (
      Tensor(randomUniform: [24, 4], lowerBound: -1, upperBound: 1, using: &rng),
      Tensor(randomUniform: [24, 3], lowerBound: -1, upperBound: 1, using: &rng)
    )
  }()

  enum Kind: String, CaseIterable, Sendable { case sgd, adam, adamW }

  static func optimizer(_ kind: Kind, _ parameters: [Variable<Double>]) -> any Optimizer<Double> {
    switch kind {
    case .sgd: SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9)
    case .adam: Adam(parameters: parameters, learningRate: 1e-2)
    case .adamW: AdamW(parameters: parameters, learningRate: 1e-2, weightDecay: 0.1)
    }
  }

  /// Five steps of batch 12 (two batches per pass), as one process; the parameters' values.
  static func trainAlone(_ kind: Kind) -> [Tensor<Double>] {
    let model = makeModel(seed: 1)
    let optimizer = optimizer(kind, model.parameters)
    var rng = SeededRandomNumberGenerator(seed: 9)
    let batches = Minibatches(
      tensors: [data.inputs, data.targets], batchSize: 12, shuffledUsing: &rng)
    for _ in 0..<3 {
      for batch in batches {
        optimizer.zeroGrad()
        meanSquaredError(predicted: model(Variable(batch.tensors[0])), target: batch.tensors[1]).backward()
        optimizer.step()
      }
    }
    return model.parameters.map(\.value)
  }

  @Test(
    "N ranks on their shards end with one process's parameters (SGD, Adam, AdamW; 2 and 3 ranks)",
    arguments: Kind.allCases, [2, 3])
  func equalsOneProcess(kind: Kind, ranks: Int) throws {
    try checkEqualsOneProcess(kind: kind, ranks: ranks, bucketCapacity: 25_000_000)
  }

  @Test(
    "Buckets of one parameter each, started during backward(), give the same parameters",
    arguments: Kind.allCases)
  func smallBuckets(kind: Kind) throws {
    try checkEqualsOneProcess(kind: kind, ranks: 2, bucketCapacity: 8)
  }

  func checkEqualsOneProcess(kind: Kind, ranks: Int, bucketCapacity: Int) throws {
    let expected = Self.trainAlone(kind)
    let results = Locked<[Int: [Tensor<Double>]]>([:])
    try LocalCommunicator.run(ranks: ranks) { communicator in
      // Each rank starts from other weights: construction makes them rank 0's.
      let model = Self.makeModel(seed: communicator.rank == 0 ? 1 : 100 + UInt64(communicator.rank))
      let parallel = try DataParallel(
        model: model, optimizer: Self.optimizer(kind, model.parameters), communicator: communicator,
        bucketCapacity: bucketCapacity)
      var rng = SeededRandomNumberGenerator(seed: 9)
      let batches = Minibatches(
        tensors: [Self.data.inputs, Self.data.targets], batchSize: 12, shuffledUsing: &rng
      ).sharded(rank: communicator.rank, of: communicator.size)
      for _ in 0..<3 {
        for batch in batches {
          parallel.zeroGrad()
          meanSquaredError(predicted: model(Variable(batch.tensors[0])), target: batch.tensors[1]).backward()
          try parallel.step()
        }
      }
      let values = model.parameters.map(\.value)
      results.withLock { $0[communicator.rank] = values }
    }
    let all = results.withLock { $0 }
    #expect(all.count == ranks)
    for (rank, values) in all {
      for (value, alone) in zip(values, expected) {
        #expect(isClose(value, alone, absoluteTolerance: 1e-12, relativeTolerance: 1e-10), "rank \(rank)")
      }
      // Every rank reduces in the same order, so the replicas are bit-equal.
      #expect(values == all[0], "rank \(rank) differs from rank 0")
    }
  }

  /// A communicator that notes, at each all-reduce it starts, how many of `watched` have
  /// gradients.
  final class LoggingCommunicator: Communicator {
    let inner: LocalCommunicator
    var watched: [Variable<Double>] = []
    var log: [Int] = []
    init(_ inner: LocalCommunicator) { self.inner = inner }
    var rank: Int { inner.rank }
    var size: Int { inner.size }
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {
      try inner.allReduce(buffer)
    }
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {
      try inner.allReduce(buffer)
    }
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int) throws(CommunicatorError) {
      try inner.broadcast(buffer, from: root)
    }
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, from root: Int) throws(CommunicatorError) {
      try inner.broadcast(buffer, from: root)
    }
    func barrier() throws(CommunicatorError) { try inner.barrier() }
    func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
      -> CollectiveRequest
    {
      log.append(watched.filter { $0.grad != nil }.count)
      try inner.allReduce(buffer)
      return .completed
    }
  }

  @Test("Each bucket's all-reduce starts during backward(), as soon as its gradients are final")
  func overlap() throws {
    try LocalCommunicator.run(ranks: 1) { local in
      let communicator = LoggingCommunicator(local)
      let model = Self.makeModel(seed: 1)
      communicator.watched = model.parameters
      // Buckets of one parameter each: the second layer's bias and weight, then the first's, in
      // the order the backward pass finishes them.
      let parallel = try DataParallel(
        model: model, optimizer: SGD(parameters: model.parameters, learningRate: 0.1),
        communicator: communicator,
        bucketCapacity: 8)
      for _ in 0..<2 {
        communicator.log = []
        parallel.zeroGrad()
        meanSquaredError(predicted: model(Variable(Self.data.inputs)), target: Self.data.targets).backward()
        // Each bucket started as soon as its parameter's gradient was final, before the
        // gradients of the parameters used before it existed.
        #expect(communicator.log == [1, 2, 3, 4])
        try parallel.step()
        #expect(communicator.log.count == 4)
      }
    }
  }

  @Test("Two backward passes before a step (accumulated gradients) average the sums, as one process")
  func accumulatedGradients() throws {
    let alone = Self.makeModel(seed: 1)
    let sgd = SGD(parameters: alone.parameters, learningRate: 0.1)
    for half in 0..<2 {
      let inputs = Self.data.inputs[(half * 12)..<((half + 1) * 12)]
      let targets = Self.data.targets[(half * 12)..<((half + 1) * 12)]
      meanSquaredError(predicted: alone(Variable(inputs)), target: targets).backward()
    }
    sgd.step()
    let expected = alone.parameters.map(\.value)
    let results = Locked<[Int: [Tensor<Double>]]>([:])
    try LocalCommunicator.run(ranks: 2) { communicator in
      let model = Self.makeModel(seed: 1)
      let parallel = try DataParallel(
        model: model, optimizer: SGD(parameters: model.parameters, learningRate: 0.1),
        communicator: communicator,
        bucketCapacity: 8)
      parallel.zeroGrad()
      // Rank r takes rows 6r..<6r+6 of each half: two backward passes of the mean over 6 rows.
      for half in 0..<2 {
        let start = half * 12 + communicator.rank * 6
        let inputs = Self.data.inputs[start..<(start + 6)]
        let targets = Self.data.targets[start..<(start + 6)]
        meanSquaredError(predicted: model(Variable(inputs)), target: targets).backward()
      }
      try parallel.step()
      let values = model.parameters.map(\.value)
      results.withLock { $0[communicator.rank] = values }
    }
    for (rank, values) in results.withLock({ $0 }) {
      for (value, one) in zip(values, expected) {
        #expect(isClose(value, one, absoluteTolerance: 1e-12, relativeTolerance: 1e-10), "rank \(rank)")
      }
    }
  }

  @Test("Minibatches.sharded deals each batch out exactly once, in near-equal parts")
  func sharding() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let batches = Minibatches(tensors: [Tensor<Double>(zeros: [10, 1])], batchSize: 4, shuffledUsing: &rng)
    let whole = Array(batches).map(\.indices)
    let parts = (0..<3).map { rank in Array(batches.sharded(rank: rank, of: 3)).map(\.indices) }
    for (index, batch) in whole.enumerated() {
      #expect(parts.flatMap { $0[index] } == batch)
      #expect(parts.map { $0[index].count }.max()! - parts.map { $0[index].count }.min()! <= 1)
    }
    #expect(parts.allSatisfy { $0.count == whole.count })
  }

  @Test("Collectives: all-reduce sums in rank order, broadcast, average, barrier")
  func collectives() throws {
    let sums = Locked<[[Float]]>([])
    try LocalCommunicator.run(ranks: 3) { communicator in
      var tensor = Tensor<Float>([Float(communicator.rank), 1, 0.5])
      try communicator.allReduce(&tensor)
      var shared = Tensor<Double>([Double(communicator.rank) + 7])
      try communicator.broadcast(&shared, from: 2)
      #expect(shared.scalars == [9])
      #expect(try communicator.average(Double(communicator.rank)) == 1)
      try communicator.barrier()
      let scalars = tensor.scalars
      sums.withLock { $0.append(scalars) }
    }
    #expect(sums.withLock { $0 }.allSatisfy { $0 == [3, 3, 1.5] })
  }

  struct Failure: Error {}

  @Test(
    "A failing rank, different models, a step without backward and a timeout are errors on every rank, not hangs"
  )
  func faults() throws {
    // A rank that throws: the others' next collective call says which rank failed.
    let seen = Locked<[CommunicatorError]>([])
    #expect(throws: Failure.self) {
      try LocalCommunicator.run(ranks: 2) { communicator in
        if communicator.rank == 1 { throw Failure() }
        do {
          try communicator.barrier()
        } catch let error as CommunicatorError {
          seen.withLock { $0.append(error) }
        }
      }
    }
    #expect(seen.withLock { $0 }.map(\.problem) == [.rankFailed(1)])

    // Models whose shapes differ are named at construction, on every rank.
    let mismatches = Locked<Int>(0)
    try LocalCommunicator.run(ranks: 2) { communicator in
      var rng = SeededRandomNumberGenerator(seed: 1)
      let model = Sequential {
        Dense<Double>(inputSize: 4, outputSize: communicator.rank == 0 ? 8 : 9, using: &rng)
      }
      do {
        _ = try DataParallel(
          model: model, optimizer: SGD(parameters: model.parameters, learningRate: 0.1),
          communicator: communicator)
      } catch let error as CommunicatorError {
        if case .mismatch = error.problem, error.call == "DataParallel.init" {
          mismatches.withLock { $0 += 1 }
        }
      }
    }
    #expect(mismatches.withLock { $0 } == 2)

    // step() on a rank without a backward pass, while the other had one.
    let stepErrors = Locked<[String]>([])
    try LocalCommunicator.run(ranks: 2) { communicator in
      let model = Self.makeModel(seed: 1)
      let parallel = try DataParallel(
        model: model, optimizer: SGD(parameters: model.parameters, learningRate: 0.1),
        communicator: communicator)
      if communicator.rank == 0 {
        meanSquaredError(predicted: model(Variable(Self.data.inputs)), target: Self.data.targets).backward()
      }
      do {
        try parallel.step()
      } catch let error as CommunicatorError {
        stepErrors.withLock { $0.append(error.description) }
      }
    }
    #expect(stepErrors.withLock { $0 }.count == 2)
    #expect(
      stepErrors.withLock { $0 }.allSatisfy {
        $0.contains("1 of 2 ranks called step() without a backward pass")
      })

    // A rank that never arrives: the other's wait ends at the timeout.
    #expect(throws: CommunicatorError.self) {
      try LocalCommunicator.run(ranks: 2, timeout: 0.2) { communicator in
        if communicator.rank == 0 { try communicator.barrier() }
      }
    }
  }

  @Test("Checkpoints: rank 0 writes; loading is all or nothing on every rank")
  func checkpoints() throws {
    let directory = FileManager.default.temporaryDirectory.appending(
      path: "data-parallel-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let good = directory.appending(path: "step.safetensors").path
    let missing = directory.appending(path: "missing.safetensors").path
    let outcomes = Locked<[String]>([])
    try LocalCommunicator.run(ranks: 2) { communicator in
      let model = Self.makeModel(seed: 1)
      let parallel = try DataParallel(
        model: model, optimizer: Adam(parameters: model.parameters, learningRate: 1e-2),
        communicator: communicator)
      meanSquaredError(predicted: model(Variable(Self.data.inputs)), target: Self.data.targets).backward()
      try parallel.step()
      try parallel.saveCheckpoint(to: good)
      let saved = model.parameters.map(\.value)
      // Another step, then back to the checkpoint on both ranks.
      parallel.zeroGrad()
      meanSquaredError(predicted: model(Variable(Self.data.inputs)), target: Self.data.targets).backward()
      try parallel.step()
      let stepped = model.parameters.map(\.value)
      try parallel.loadCheckpoint(from: good)
      #expect(model.parameters.map(\.value) == saved)
      // Rank 1 cannot read its file: neither rank changes.
      for parameter in model.parameters {
        parameter.value = stepped[model.parameters.firstIndex { $0 === parameter }!]
      }
      do {
        try parallel.loadCheckpoint(from: communicator.rank == 0 ? good : missing)
        outcomes.withLock { $0.append("loaded") }
      } catch {
        outcomes.withLock { $0.append("rank \(communicator.rank): \(type(of: error))") }
      }
      #expect(model.parameters.map(\.value) == stepped, "rank \(communicator.rank)")
    }
    #expect(outcomes.withLock { $0 }.sorted() == ["rank 0: CommunicatorError", "rank 1: FileError"])
    #expect(FileManager.default.fileExists(atPath: good))
  }
}

/// A value behind an `NSLock`, with `Mutex`'s `withLock`: what the ranks of these tests report.
/// ThreadSanitizer sees the ordering a pthread mutex gives, and not that of
/// `Synchronization.Mutex`, whose lock it cannot see into, so that it reported the ranks' turns
/// at a `Mutex` as races.
final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
