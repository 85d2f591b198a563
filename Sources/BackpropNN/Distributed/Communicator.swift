import BackpropTensor

/// A group of processes or threads, each a *rank*, that sum and share buffers together: the
/// collective operations data-parallel training needs (MPI's `MPI_Allreduce`, `MPI_Bcast`,
/// `MPI_Barrier`).
///
/// Every rank must call the same collective operations in the same order with buffers of the same
/// size; a collective call returns once every rank has made it. Two implementations:
/// ``LocalCommunicator`` (ranks are threads of one process, for tests and for trying things out)
/// and `MPICommunicator` (ranks are processes started by `mpirun`, with the package's `MPI`
/// trait).
public protocol Communicator: AnyObject {
  /// This rank's number, 0 ..< ``size``.
  var rank: Int { get }
  /// The number of ranks.
  var size: Int { get }
  /// Replaces `buffer` on every rank with the elementwise sum of every rank's `buffer`.
  ///
  /// - Throws: ``CommunicatorError`` when a rank failed, the wait timed out, or the ranks'
  ///   buffers differ in size.
  func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError)
  /// ``allReduce(_:)-(UnsafeMutableBufferPointer<Float>)`` for `Double`.
  func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
  /// Replaces `buffer` on every rank with rank `root`'s.
  func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int) throws(CommunicatorError)
  /// ``broadcast(_:from:)-(UnsafeMutableBufferPointer<Float>,_)`` for `Double`.
  func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, from root: Int) throws(CommunicatorError)
  /// Returns once every rank has called it.
  func barrier() throws(CommunicatorError)

  /// Starts ``allReduce(_:)-(UnsafeMutableBufferPointer<Float>)`` and returns without waiting for
  /// it: `buffer` holds the sum once ``wait(for:)`` has returned for the request, and must stay
  /// valid and untouched until then. Calls started on every rank in the same order overlap
  /// whatever the rank does next: `DataParallel` starts each bucket of gradients during the
  /// backward pass.
  ///
  /// A communicator that cannot overlap (the default implementation) finishes the call here and
  /// returns a completed request.
  func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError)
    -> CollectiveRequest
  /// ``startAllReduce(_:)-(UnsafeMutableBufferPointer<Float>)`` for `Double`.
  func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
    -> CollectiveRequest
  /// Whether a started call has finished, letting it advance (MPI moves a non-blocking call on
  /// only while the rank calls into it).
  func test(_ request: CollectiveRequest) throws(CommunicatorError) -> Bool
  /// Returns once a started call has finished on this rank.
  func wait(for request: CollectiveRequest) throws(CommunicatorError)
}

/// A collective call started by ``Communicator/startAllReduce(_:)-(UnsafeMutableBufferPointer<Float>)``,
/// to wait for with ``Communicator/wait(for:)``.
public struct CollectiveRequest: Hashable, Sendable {
  /// The communicator's number for the call; ``completed`` for one that has finished already.
  public let identifier: Int

  /// - Parameter identifier: The communicator's number for the call.
  public init(identifier: Int) { self.identifier = identifier }

  /// A call that finished when it was started.
  public static let completed = CollectiveRequest(identifier: -1)
}

/// Why a collective operation failed, and which call it was.
public struct CommunicatorError: Error, CustomStringConvertible, Sendable, Equatable {
  /// What went wrong.
  public enum Problem: Sendable, Equatable {
    /// Another rank failed or left, so this call cannot complete.
    case rankFailed(Int)
    /// The other ranks did not arrive within the timeout, in seconds.
    case timedOut(Double)
    /// The ranks disagree: buffer sizes, models' shapes, or a step without a backward pass.
    case mismatch(String)
    /// The MPI library returned an error code, with its message.
    case mpi(code: Int32, message: String)
  }

  /// The call, e.g. `"allReduce"`.
  public let call: String
  /// The rank that reports the error.
  public let rank: Int
  /// What went wrong.
  public let problem: Problem

  /// - Parameters:
  ///   - call: The call that failed.
  ///   - rank: The rank that reports it.
  ///   - problem: What went wrong.
  public init(call: String, rank: Int, _ problem: Problem) {
    self.call = call
    self.rank = rank
    self.problem = problem
  }

  /// `rank 1: allReduce: rank 0 failed`, and so on.
  public var description: String {
    let what =
      switch problem {
      case .rankFailed(let other): "rank \(other) failed"
      case .timedOut(let seconds): "the other ranks did not arrive within \(seconds) s"
      case .mismatch(let text): text
      case .mpi(let code, let message): "MPI error \(code): \(message)"
      }
    return "rank \(rank): \(call): \(what)"
  }
}

extension Communicator {
  /// Finishes the call before returning: ``CollectiveRequest/completed``.
  public func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError)
    -> CollectiveRequest
  {
    try allReduce(buffer)
    return .completed
  }

  /// Finishes the call before returning: ``CollectiveRequest/completed``.
  public func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
    -> CollectiveRequest
  {
    try allReduce(buffer)
    return .completed
  }

  /// `true`: the default ``startAllReduce(_:)-(UnsafeMutableBufferPointer<Float>)`` finishes its
  /// calls when they start.
  public func test(_ request: CollectiveRequest) throws(CommunicatorError) -> Bool { true }

  /// Returns at once: the default ``startAllReduce(_:)-(UnsafeMutableBufferPointer<Float>)``
  /// finishes its calls when they start.
  public func wait(for request: CollectiveRequest) throws(CommunicatorError) {}

  /// Sums `tensor` over the ranks, in place (see ``allReduce(_:)-(UnsafeMutableBufferPointer<Float>)``).
  public func allReduce<Scalar: TensorScalar>(_ tensor: inout Tensor<Scalar>) throws(CommunicatorError) {
    try withBuffer(of: &tensor) { (buffer: UnsafeMutableRawBufferPointer) throws(CommunicatorError) in
      if Scalar.self == Float.self {
        try allReduce(buffer.bindMemory(to: Float.self))
      } else {
        try allReduce(buffer.bindMemory(to: Double.self))
      }
    }
  }

  /// Replaces `tensor` with rank `root`'s, which must have the same shape.
  public func broadcast<Scalar: TensorScalar>(_ tensor: inout Tensor<Scalar>, from root: Int)
    throws(CommunicatorError)
  {
    try withBuffer(of: &tensor) { (buffer: UnsafeMutableRawBufferPointer) throws(CommunicatorError) in
      if Scalar.self == Float.self {
        try broadcast(buffer.bindMemory(to: Float.self), from: root)
      } else {
        try broadcast(buffer.bindMemory(to: Double.self), from: root)
      }
    }
  }

  /// The mean of `value` over the ranks: a loss or an accuracy for printing.
  public func average(_ value: Double) throws(CommunicatorError) -> Double {
    var scalars = [value]
    try scalars.withUnsafeMutableBufferPointer { (buffer) throws(CommunicatorError) in try allReduce(buffer) }
    return scalars[0] / Double(size)
  }
}

/// Calls `body` with the tensor's elements as raw memory, typed-throwing.
private func withBuffer<Scalar: TensorScalar>(
  of tensor: inout Tensor<Scalar>, _ body: (UnsafeMutableRawBufferPointer) throws(CommunicatorError) -> Void
) throws(CommunicatorError) {
  var failure: CommunicatorError? = nil
  tensor.withUnsafeMutableBufferPointer { buffer in
    do throws(CommunicatorError) {
      try body(UnsafeMutableRawBufferPointer(buffer))
    } catch {
      failure = error
    }
  }
  if let failure { throw failure }
}
