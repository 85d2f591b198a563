#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Ranks that are threads of this process: data-parallel training without MPI, for tests and for
/// trying things out. ``run(ranks:timeout:_:)`` starts one thread per rank.
///
/// ```swift
/// try LocalCommunicator.run(ranks: 2) { communicator in   // each rank a thread
///   let model = makeModel()
///   let parallel = try DataParallel(model: model, optimizer: Adam(parameters: model.parameters),
///                                   communicator: communicator)
///   …
/// }
/// ```
///
/// A sum adds the ranks' buffers in rank order on every rank, so every rank gets the same bits.
/// A rank whose body throws makes the others' collective calls throw
/// ``CommunicatorError/Problem/rankFailed(_:)``, and a call that waits longer than the timeout
/// throws ``CommunicatorError/Problem/timedOut(_:)``: a group never hangs without end.
public final class LocalCommunicator: Communicator {
  /// This rank's number.
  public let rank: Int
  /// The number of ranks.
  public var size: Int { group.size }
  private let group: LocalGroup

  init(rank: Int, group: LocalGroup) {
    self.rank = rank
    self.group = group
  }

  /// Runs `body` on `ranks` threads at once, each with its own communicator, and returns when all
  /// have finished.
  ///
  /// - Parameters:
  ///   - ranks: The number of ranks, at least 1.
  ///   - timeout: How long a collective call waits for the other ranks, in seconds; 60 by default.
  ///   - body: One rank's work. Build the model inside it: variables belong to one thread.
  /// - Throws: The error of the first rank whose body threw.
  public static func run(
    ranks: Int, timeout: Double = 60, _ body: @escaping @Sendable (LocalCommunicator) throws -> Void
  ) throws {
    precondition(ranks >= 1, "LocalCommunicator.run: \(ranks) ranks; needs at least 1")
    let group = LocalGroup(size: ranks, timeout: timeout)
    var threads: [pthread_t] = []
    for rank in 0..<ranks {
      let job = RankJob {
        do {
          try body(LocalCommunicator(rank: rank, group: group))
        } catch {
          group.fail(rank: rank, error)
        }
      }
      let context = Unmanaged.passRetained(job).toOpaque()
      #if canImport(Darwin)
        var thread: pthread_t? = nil
      #else
        var thread = pthread_t()
      #endif
      let status = pthread_create(
        &thread, nil,
        { context in
          #if canImport(Darwin)
            let job = Unmanaged<RankJob>.fromOpaque(context).takeRetainedValue()
          #else
            let job = Unmanaged<RankJob>.fromOpaque(context!).takeRetainedValue()
          #endif
          job.body()
          return nil
        }, context)
      precondition(status == 0, "LocalCommunicator.run: pthread_create failed with \(status)")
      #if canImport(Darwin)
        threads.append(thread!)
      #else
        threads.append(thread)
      #endif
    }
    for thread in threads { pthread_join(thread, nil) }
    if let failure = group.firstFailure { throw failure }
  }

  /// Sums every rank's `buffer`, in rank order, into each.
  public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {
    try group.allReduce(UnsafeMutableRawBufferPointer(buffer), rank: rank, as: Float.self)
  }

  /// Sums every rank's `buffer`, in rank order, into each.
  public func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {
    try group.allReduce(UnsafeMutableRawBufferPointer(buffer), rank: rank, as: Double.self)
  }

  /// Copies rank `root`'s `buffer` into every rank's.
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int) throws(CommunicatorError)
  {
    try group.broadcast(UnsafeMutableRawBufferPointer(buffer), rank: rank, root: root)
  }

  /// Copies rank `root`'s `buffer` into every rank's.
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, from root: Int)
    throws(CommunicatorError)
  {
    try group.broadcast(UnsafeMutableRawBufferPointer(buffer), rank: rank, root: root)
  }

  /// Returns once every rank has called it.
  public func barrier() throws(CommunicatorError) {
    try group.barrier(rank: rank, call: "barrier")
  }
}

/// A rank's body, handed to its thread.
private final class RankJob {
  let body: () -> Void
  init(_ body: @escaping () -> Void) { self.body = body }
}

/// What the ranks of one ``LocalCommunicator/run(ranks:timeout:_:)`` share: the buffers they
/// deposit for a collective call, and a barrier. Guarded by a pthread mutex and condition.
final class LocalGroup: @unchecked Sendable {
  let size: Int
  let timeout: Double
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  /// Each rank's deposited buffer for the current collective call.
  private var deposits: [UnsafeRawBufferPointer?]
  private var arrived = 0
  private var generation = 0
  private var failure: (rank: Int, error: any Error)? = nil

  init(size: Int, timeout: Double) {
    self.size = size
    self.timeout = timeout
    deposits = Array(repeating: nil, count: size)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    condition.deallocate()
  }

  /// The error of the first rank that failed, as a rank's body threw it.
  var firstFailure: (any Error)? {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return failure?.error
  }

  /// Records that `rank` failed and wakes every waiting rank.
  func fail(rank: Int, _ error: any Error) {
    pthread_mutex_lock(mutex)
    if failure == nil { failure = (rank, error) }
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }

  /// Waits until every rank has arrived; throws if one failed or the wait times out.
  func barrier(rank: Int, call: String) throws(CommunicatorError) {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    if let failure { throw CommunicatorError(call: call, rank: rank, .rankFailed(failure.rank)) }
    let mine = generation
    arrived += 1
    if arrived == size {
      arrived = 0
      generation += 1
      pthread_cond_broadcast(condition)
      return
    }
    var deadline = timespec()
    clock_gettime(CLOCK_REALTIME, &deadline)
    let whole = timeout.rounded(.down)
    deadline.tv_sec += Int(whole)
    deadline.tv_nsec += Int((timeout - whole) * 1e9)
    if deadline.tv_nsec >= 1_000_000_000 {
      deadline.tv_sec += 1
      deadline.tv_nsec -= 1_000_000_000
    }
    while generation == mine {
      if let failure { throw CommunicatorError(call: call, rank: rank, .rankFailed(failure.rank)) }
      if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT && generation == mine {
        let error = CommunicatorError(call: call, rank: rank, .timedOut(timeout))
        if failure == nil { failure = (rank, error) }
        pthread_cond_broadcast(condition)
        throw error
      }
    }
  }

  private func deposit(_ buffer: UnsafeRawBufferPointer?, rank: Int) {
    pthread_mutex_lock(mutex)
    deposits[rank] = buffer
    pthread_mutex_unlock(mutex)
  }

  private func deposited(_ rank: Int) -> UnsafeRawBufferPointer? {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return deposits[rank]
  }

  /// Sums every rank's `buffer` into each, in rank order.
  func allReduce<Element: BinaryFloatingPoint>(
    _ buffer: UnsafeMutableRawBufferPointer, rank: Int, as: Element.Type
  ) throws(CommunicatorError) {
    // Each rank deposits a copy, so that no rank reads a buffer its owner is overwriting.
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count, alignment: 16)
    defer { copy.deallocate() }
    copy.copyMemory(from: UnsafeRawBufferPointer(buffer))
    deposit(UnsafeRawBufferPointer(copy), rank: rank)
    try barrier(rank: rank, call: "allReduce")
    let parts = (0..<size).map { deposited($0)! }
    if let other = parts.firstIndex(where: { $0.count != buffer.count }) {
      try? barrier(rank: rank, call: "allReduce")
      throw CommunicatorError(
        call: "allReduce", rank: rank,
        .mismatch(
          "rank \(other) reduces \(parts[other].count / MemoryLayout<Element>.stride) elements, "
            + "this rank \(buffer.count / MemoryLayout<Element>.stride)"))
    }
    let sum = buffer.bindMemory(to: Element.self)
    let first = parts[0].bindMemory(to: Element.self)
    for index in sum.indices { sum[index] = first[index] }
    for part in parts.dropFirst() {
      let elements = part.bindMemory(to: Element.self)
      for index in sum.indices { sum[index] += elements[index] }
    }
    // Nobody frees its copy until every rank has read them all.
    try barrier(rank: rank, call: "allReduce")
  }

  /// Copies rank `root`'s `buffer` into every rank's.
  func broadcast(_ buffer: UnsafeMutableRawBufferPointer, rank: Int, root: Int) throws(CommunicatorError) {
    precondition(root >= 0 && root < size, "broadcast(from: \(root)): not a rank of \(size)")
    if rank == root { deposit(UnsafeRawBufferPointer(buffer), rank: rank) }
    try barrier(rank: rank, call: "broadcast")
    let source = deposited(root)!
    if source.count != buffer.count {
      try? barrier(rank: rank, call: "broadcast")
      throw CommunicatorError(
        call: "broadcast", rank: rank,
        .mismatch("rank \(root) sends \(source.count) bytes, this rank expects \(buffer.count)"))
    }
    if rank != root { buffer.copyMemory(from: source) }
    try barrier(rank: rank, call: "broadcast")
  }
}
