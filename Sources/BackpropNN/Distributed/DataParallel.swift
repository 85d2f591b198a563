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
/// - ``step()`` averages the gradients in buckets of at most ``bucketCapacity`` bytes, in
///   reverse order of the parameters (the order in which a backward pass finishes them), every
///   rank in the same order; then it steps the optimiser, and broadcasts the buffers from rank 0
///   again, as PyTorch's DDP does with `broadcast_buffers`. A rank that calls it without a
///   backward pass while others had one makes every rank throw.
///
/// Each rank's loss should be the mean over its shard and the shards equal in size: the mean of
/// the ranks' gradients is then the gradient of the mean over the whole batch. Batch
/// normalisation normalises each shard by its own statistics, as DDP without `SyncBatchNorm`
/// does, so a model with it trains like one process only up to that difference.
public final class DataParallel<Scalar: TensorScalar> {
  /// The replica on this rank.
  public let model: any Layer<Scalar>
  /// The optimiser, stepped by ``step()`` after the gradients are averaged.
  public let optimizer: any Optimizer<Scalar>
  /// The ranks.
  public let communicator: any Communicator
  /// The largest bucket of gradients reduced in one call, in bytes; 25 MB by default, as DDP's.
  public let bucketCapacity: Int
  /// The parameters in the buckets, each bucket a range of `parameters` in reverse order.
  private let buckets: [[Variable<Scalar>]]

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
    var buckets: [[Variable<Scalar>]] = []
    var bytes = bucketCapacity
    for parameter in optimizer.parameters.reversed() {
      let size = parameter.value.scalarCount * MemoryLayout<Scalar>.stride
      if bytes + size > bucketCapacity || buckets.isEmpty {
        buckets.append([])
        bytes = 0
      }
      buckets[buckets.count - 1].append(parameter)
      bytes += size
    }
    self.buckets = buckets

    // Every rank must hold the same tensors: compare a hash of the names and shapes with rank 0's.
    let description = model.namedTensors.map { "\($0.name)\($0.variable.shape)" }.joined(separator: ";")
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
    for named in model.namedTensors {
      try communicator.broadcast(&named.variable.value, from: 0)
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
    let ranks = Scalar(communicator.size)
    for bucket in buckets {
      let count = bucket.reduce(0) { $0 + $1.value.scalarCount }
      // The bucket's gradients, and one more element: 1 on a rank that has any gradient.
      var flat = [Scalar](repeating: 0, count: count + 1)
      var offset = 0
      var hasGradient = false
      for parameter in bucket {
        let n = parameter.value.scalarCount
        if let gradient = parameter.grad {
          hasGradient = true
          gradient.withUnsafeBufferPointer { source in
            for index in 0..<n { flat[offset + index] = source[index] }
          }
        }
        offset += n
      }
      flat[count] = hasGradient ? 1 : 0
      var tensor = Tensor(flat)
      try communicator.allReduce(&tensor)
      let reduced = tensor.scalars
      let withGradients = Int(reduced[count])
      if withGradients != 0 && withGradients != communicator.size {
        throw CommunicatorError(
          call: "DataParallel.step", rank: communicator.rank,
          .mismatch(
            "\(communicator.size - withGradients) of \(communicator.size) ranks called step() without a "
              + "backward pass (this rank \(hasGradient ? "had" : "had no") gradients)"))
      }
      if withGradients == 0 { continue }
      offset = 0
      for parameter in bucket {
        let n = parameter.value.scalarCount
        let averaged = Array(reduced[offset..<(offset + n)]).map { $0 / ranks }
        parameter.grad = try! Tensor(shape: parameter.shape, scalars: averaged)
        offset += n
      }
    }
    optimizer.step()
    for named in model.namedTensors where named.role == .buffer {
      try communicator.broadcast(&named.variable.value, from: 0)
    }
  }
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
