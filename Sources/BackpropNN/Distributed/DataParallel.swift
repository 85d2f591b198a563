import BackpropAutodiff
import BackpropTensor

/// Data-parallel training: a replica of the model on every rank, each rank computing the loss of
/// its shard of every batch, and the gradients averaged over the ranks before the optimiser
/// steps, so that N ranks train as one process on the whole batch would (PyTorch's
/// `DistributedDataParallel`, Horovod).
///
/// ```swift
/// try LocalCommunicator.run(ranks: 2) { communicator in
///   let model = makeModel()                                  // any seed: rank 0's values win
///   let optimizer = Adam(parameters: model.parameters, learningRate: 1e-2)
///   let parallel = try DataParallel(model: model, optimizer: optimizer, communicator: communicator)
///   for batch in minibatches.sharded(rank: communicator.rank, of: communicator.size) {
///     parallel.zeroGrad()
///     loss(model, batch).backward()     // the mean over this rank's shard
///     try parallel.step()               // averages the gradients, then steps the optimiser
///   }
/// }
/// ```
///
/// - Construction broadcasts every parameter and buffer (``NamedTensor/Role/buffer``, such as
///   BatchNorm's running statistics) from rank 0, after checking that every rank's model has
///   the same tensors of the same shapes.
/// - The gradients are averaged in buckets of at most ``bucketCapacity`` bytes, in reverse order
///   of the parameters (the order in which a backward pass finishes them), every rank in the same
///   order. Each parameter has a gradient hook (`Variable.onGradientAccumulated`): as soon as
///   `backward()` has finished every gradient of a bucket, and every bucket before it has
///   started, the bucket's all-reduce starts
///   (``Communicator/startAllReduce(_:)-(UnsafeMutableBufferPointer<Float>)``), so that
///   communication overlaps the rest of the backward pass.
/// - ``step()`` starts the buckets that have not started (a parameter that this backward pass
///   did not reach counts as a zero gradient), waits for all of them, steps the optimiser and
///   broadcasts the buffers from rank 0 again, as PyTorch's DDP does with `broadcast_buffers`. A
///   rank that calls it without a backward pass while others had one makes every rank throw.
///
/// Each rank's loss should be the mean over its shard and the shards equal in size: the mean of
/// the ranks' gradients is then the gradient of the mean over the whole batch. Every rank must
/// run the same number of backward passes between two steps; with more than one (gradient
/// accumulation), the buckets started during the first are reduced again in ``step()``. Batch
/// normalisation normalises each shard by its own statistics, as DDP without `SyncBatchNorm`
/// does, so a model with it trains like one process only up to that difference.
///
/// The wrapper sets the optimiser's parameters' `Variable.onGradientAccumulated` and removes
/// those hooks when it is freed: one `DataParallel` per model at a time.
public final class DataParallel<Scalar: TensorScalar> {
  /// The replica on this rank.
  public let model: any Layer<Scalar>
  /// The optimiser, stepped by ``step()`` after the gradients are averaged.
  public let optimizer: any Optimizer<Scalar>
  /// The ranks.
  public let communicator: any Communicator
  /// The largest bucket of gradients reduced in one call, in bytes; 25 MB by default, as DDP's.
  public let bucketCapacity: Int
  /// The buckets, in the order in which they are reduced.
  private let buckets: [GradientBucket<Scalar>]
  /// The model's buffers, broadcast from rank 0 after every step.
  private let buffers: [Variable<Scalar>]
  /// How many buckets have started reducing since the last step, in order.
  private var started = 0
  /// `true` when a parameter's gradient was finished twice since the last step.
  private var repeatedBackward = false
  /// An error of a reduction started in a gradient hook (which cannot throw), for ``step()``.
  private var failure: CommunicatorError? = nil

  /// Wraps `model` and `optimizer` and makes every rank's replica equal rank 0's.
  ///
  /// - Parameters:
  ///   - model: This rank's replica.
  ///   - optimizer: Its optimiser; its parameters are the model's.
  ///   - communicator: The ranks.
  ///   - bucketCapacity: The largest bucket of gradients reduced in one call, in bytes.
  /// - Throws: ``CommunicatorError`` with ``CommunicatorError/Problem/mismatch(_:)`` when the
  ///   ranks' models differ in their tensors' names or shapes, or when a collective call fails.
  public init(
    model: any Layer<Scalar>, optimizer: any Optimizer<Scalar>, communicator: any Communicator,
    bucketCapacity: Int = 25_000_000
  )
    throws(CommunicatorError)
  {
    precondition(bucketCapacity > 0, "DataParallel: bucketCapacity \(bucketCapacity) must be positive")
    self.model = model
    self.optimizer = optimizer
    self.communicator = communicator
    self.bucketCapacity = bucketCapacity
    var groups: [[Variable<Scalar>]] = []
    var bytes = bucketCapacity
    for parameter in optimizer.parameters.reversed() {
      let size = parameter.value.scalarCount * MemoryLayout<Scalar>.stride
      if bytes + size > bucketCapacity || groups.isEmpty {
        groups.append([])
        bytes = 0
      }
      groups[groups.count - 1].append(parameter)
      bytes += size
    }
    buckets = groups.map(GradientBucket.init)
    let named = model.namedTensors
    buffers = named.filter { $0.role == .buffer }.map(\.variable)

    // Every rank must hold the same tensors: compare a hash of the names and shapes with rank 0's.
    let description = named.map { "\($0.name)\($0.variable.shape)" }.joined(separator: ";")
    let hash = fnv1a(description)
    var shared = [Double(hash >> 32), Double(hash & 0xffff_ffff)]
    let mine = shared
    try shared.withUnsafeMutableBufferPointer { (buffer) throws(CommunicatorError) in
      try communicator.broadcast(buffer, from: 0)
    }
    var differing = [shared == mine ? 0.0 : 1.0]
    try differing.withUnsafeMutableBufferPointer { (buffer) throws(CommunicatorError) in
      try communicator.allReduce(buffer)
    }
    if differing[0] > 0 {
      throw CommunicatorError(
        call: "DataParallel.init", rank: communicator.rank,
        .mismatch(
          shared == mine
            ? "\(Int(differing[0])) rank(s) hold a model whose tensors' names or shapes differ from rank 0's"
            : "this rank's model (\(description.prefix(200))) differs from rank 0's in its tensors' names or shapes"
        ))
    }
    for named in named {
      try communicator.broadcast(&named.variable.value, from: 0)
    }
    for (index, bucket) in buckets.enumerated() {
      for parameter in bucket.parameters {
        parameter.onGradientAccumulated = { [weak self] _ in self?.gradientFinished(inBucket: index) }
      }
    }
  }

  deinit {
    for bucket in buckets {
      for parameter in bucket.parameters { parameter.onGradientAccumulated = nil }
    }
  }

  /// Clears every parameter's gradient.
  public func zeroGrad() { optimizer.zeroGrad() }

  /// Averages the gradients over the ranks, then steps the optimiser and shares rank 0's buffers.
  ///
  /// A parameter without a gradient on a rank counts as a zero gradient there.
  ///
  /// - Throws: ``CommunicatorError`` when a collective call fails, or with
  ///   ``CommunicatorError/Problem/mismatch(_:)`` on every rank when some ranks have gradients
  ///   and others none (a step without a backward pass).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func step() throws(CommunicatorError) {
    defer {
      started = 0
      repeatedBackward = false
      failure = nil
      for bucket in buckets { bucket.reset() }
    }
    if let failure { throw failure }
    if repeatedBackward {
      // The buckets started during the first backward pass hold part of the gradients.
      for bucket in buckets[..<started] { try bucket.wait(communicator) }
      started = 0
    }
    while started < buckets.count {
      try buckets[started].start(communicator)
      started += 1
    }
    var ranksWithGradients: [Int] = []
    for bucket in buckets {
      try bucket.wait(communicator)
      ranksWithGradients.append(bucket.ranksWithGradients)
    }
    for (bucket, ranks) in zip(buckets, ranksWithGradients) where ranks != 0 {
      guard ranks == communicator.size else {
        throw CommunicatorError(
          call: "DataParallel.step", rank: communicator.rank,
          .mismatch(
            "\(communicator.size - ranks) of \(communicator.size) ranks called step() without a "
              + "backward pass (this rank \(bucket.hadGradients ? "had" : "had no") gradients)"))
      }
      bucket.average(over: communicator.size)
    }
    optimizer.step()
    for buffer in buffers {
      try communicator.broadcast(&buffer.value, from: 0)
    }
  }

  /// A gradient hook: one more parameter of bucket `index` has its gradient. Starts every bucket
  /// that is complete and whose predecessors have started, then lets the started ones advance.
  private func gradientFinished(inBucket index: Int) {
    let bucket = buckets[index]
    bucket.finished += 1
    if bucket.finished > bucket.parameters.count { repeatedBackward = true }
    guard !repeatedBackward, failure == nil else { return }
    do throws(CommunicatorError) {
      while started < buckets.count && buckets[started].finished == buckets[started].parameters.count {
        try buckets[started].start(communicator)
        started += 1
      }
      for bucket in buckets[..<started] { try bucket.test(communicator) }
    } catch {
      failure = error
    }
  }
}

/// One bucket of ``DataParallel``: its parameters, and the flat buffer its gradients are reduced
/// in, allocated once: the gradients, then one element that is 1 on a rank that had any.
private final class GradientBucket<Scalar: TensorScalar> {
  let parameters: [Variable<Scalar>]
  let buffer: UnsafeMutableBufferPointer<Scalar>
  /// How many of the parameters' gradients the backward passes since the last step finished.
  var finished = 0
  /// The reduction, while it runs.
  var request: CollectiveRequest? = nil
  /// Whether this rank had a gradient for any of the parameters when the reduction started.
  var hadGradients = false

  init(_ parameters: [Variable<Scalar>]) {
    self.parameters = parameters
    let count = parameters.reduce(0) { $0 + $1.value.scalarCount }
    buffer = .allocate(capacity: count + 1)
    buffer.initialize(repeating: 0)
  }

  deinit { buffer.deallocate() }

  /// The number of ranks that had gradients, once the reduction has finished.
  var ranksWithGradients: Int { Int(buffer[buffer.count - 1].rounded()) }

  /// Copies the gradients in (zeros for a parameter without one) and starts their sum.
  func start(_ communicator: any Communicator) throws(CommunicatorError) {
    let base = UnsafeMutableRawPointer(buffer.baseAddress!)
    let stride = MemoryLayout<Scalar>.stride
    var offset = 0
    hadGradients = false
    for parameter in parameters {
      let bytes = parameter.value.scalarCount * stride
      if let gradient = parameter.grad {
        hadGradients = true
        gradient.withUnsafeBufferPointer { source in
          // An empty tensor may have no address.
          guard let source = source.baseAddress else { return }
          (base + offset).copyMemory(from: UnsafeRawPointer(source), byteCount: bytes)
        }
      } else {
        (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
      }
      offset += bytes
    }
    buffer[buffer.count - 1] = hadGradients ? 1 : 0
    if Scalar.self == Float.self {
      request = try communicator.startAllReduce(
        UnsafeMutableRawBufferPointer(buffer).bindMemory(to: Float.self))
    } else {
      request = try communicator.startAllReduce(
        UnsafeMutableRawBufferPointer(buffer).bindMemory(to: Double.self))
    }
  }

  /// Lets the reduction advance.
  func test(_ communicator: any Communicator) throws(CommunicatorError) {
    if let request, try communicator.test(request) { self.request = nil }
  }

  /// Waits for the reduction.
  func wait(_ communicator: any Communicator) throws(CommunicatorError) {
    if let request { try communicator.wait(for: request) }
    request = nil
  }

  /// Sets each parameter's gradient to its sum divided by `ranks`.
  func average(over ranks: Int) {
    let stride = MemoryLayout<Scalar>.stride
    var offset = 0
    if Scalar.self == Float.self {
      divide(
        UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self), buffer.count - 1,
        Float(ranks))
    } else {
      divide(
        UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Double.self), buffer.count - 1,
        Double(ranks))
    }
    for parameter in parameters {
      let bytes = parameter.value.scalarCount * stride
      var gradient = Tensor<Scalar>(zeros: parameter.shape)
      gradient.withUnsafeMutableBufferPointer { target in
        guard let target = target.baseAddress else { return }
        UnsafeMutableRawPointer(target).copyMemory(
          from: UnsafeRawPointer(buffer.baseAddress!) + offset, byteCount: bytes)
      }
      parameter.grad = gradient
      offset += bytes
    }
  }

  /// Forgets the last step.
  func reset() {
    finished = 0
    request = nil
  }
}

/// Divides `count` scalars at `scalars` by `divisor`, in place.
private func divide(_ scalars: UnsafeMutablePointer<Float>, _ count: Int, _ divisor: Float) {
  for index in 0..<count { scalars[index] /= divisor }
}

/// Divides `count` scalars at `scalars` by `divisor`, in place.
private func divide(_ scalars: UnsafeMutablePointer<Double>, _ count: Int, _ divisor: Double) {
  for index in 0..<count { scalars[index] /= divisor }
}

extension DataParallel {
  /// Writes a checkpoint of the model and the optimiser (see ``Checkpoint``) from rank 0 only,
  /// atomically; every rank returns once it is written, or throws if it could not be.
  ///
  /// - Throws: On rank 0 the `FileError` of the write; on the other ranks a
  ///   ``CommunicatorError`` saying that rank 0 could not write it.
  public func saveCheckpoint(to path: String) throws {
    var failure: (any Error)? = nil
    if communicator.rank == 0 {
      do { try Checkpoint.save(model, optimizer: optimizer, to: path) } catch { failure = error }
    }
    if try count(failure != nil) > 0 {
      throw failure
        ?? CommunicatorError(
          call: "DataParallel.saveCheckpoint", rank: communicator.rank,
          .mismatch("rank 0 could not write \(path)"))
    }
  }

  /// Loads a checkpoint into the model and the optimiser on every rank, all or nothing on every
  /// rank: when any rank cannot load it, every rank's model and optimiser are left as they were.
  ///
  /// Every rank reads `path`, so it must be readable on every machine (a shared file system, or
  /// a copy on each).
  ///
  /// - Throws: On a rank that could not load it, the `FileError`; on the others a
  ///   ``CommunicatorError`` naming how many ranks could not.
  public func loadCheckpoint(from path: String) throws {
    let before = Checkpoint.encode(model, optimizer: optimizer)
    var failure: (any Error)? = nil
    do { try Checkpoint.load(from: path, into: model, optimizer: optimizer) } catch { failure = error }
    let failed = try count(failure != nil)
    guard failed > 0 else { return }
    if let failure { throw failure }
    // This rank loaded it, another could not: back to where this rank was.
    try Checkpoint.decode(before, into: model, optimizer: optimizer)
    throw CommunicatorError(
      call: "DataParallel.loadCheckpoint", rank: communicator.rank,
      .mismatch("\(failed) rank(s) could not load \(path); this rank's model and optimiser are unchanged"))
  }

  /// The number of ranks on which `condition` holds.
  private func count(_ condition: Bool) throws(CommunicatorError) -> Int {
    var flag = [condition ? 1.0 : 0.0]
    try flag.withUnsafeMutableBufferPointer { (buffer) throws(CommunicatorError) in
      try communicator.allReduce(buffer)
    }
    return Int(flag[0])
  }
}

/// FNV-1a, 64 bits, of `text`'s UTF-8.
private func fnv1a(_ text: String) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
  return hash
}
