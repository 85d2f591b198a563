#if MPI
  import CMPI
  #if canImport(Glibc)
    import Glibc
  #elseif canImport(Darwin)
    import Darwin
  #endif

  /// Ranks that are processes started by `mpirun`, on one machine or many: MPI's
  /// `MPI_COMM_WORLD`. Built with the package's `MPI` trait (`swift build --traits MPI`), which
  /// links the system's MPI library through pkg-config (`ompi-c`, Open MPI).
  ///
  /// ```swift
  /// let world = try MPICommunicator()      // under mpirun -np 2 …
  /// let parallel = try DataParallel(model: model, optimizer: adam, communicator: world)
  /// ```
  ///
  /// The first communicator initialises MPI for the process, and MPI is finalised when the process
  /// exits. MPI's errors are returned, not fatal, and thrown as ``CommunicatorError`` naming the
  /// call. Every collective call is started without blocking and waited for with a timeout, so a
  /// rank whose peers died or never arrive throws ``CommunicatorError/Problem/timedOut(_:)``
  /// instead of hanging.
  public final class MPICommunicator: Communicator {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of processes in `MPI_COMM_WORLD`.
    public let size: Int
    /// How long a collective call waits for the other ranks, in seconds.
    public let timeout: Double

    /// The world communicator, initialising MPI once for the process.
    ///
    /// - Parameter timeout: How long a collective call waits, in seconds; 300 by default.
    /// - Throws: ``CommunicatorError`` when MPI cannot be initialised.
    public init(timeout: Double = 300) throws(CommunicatorError) {
      try MPIProcess.initialize()
      let communicator = backprop_mpi_comm_world()
      self.timeout = timeout
      var rank: Int32 = 0
      var size: Int32 = 0
      try Self.check(
        MPI_Comm_set_errhandler(communicator, backprop_mpi_errors_return()), "MPI_Comm_set_errhandler", 0)
      try Self.check(MPI_Comm_rank(communicator, &rank), "MPI_Comm_rank", 0)
      try Self.check(MPI_Comm_size(communicator, &size), "MPI_Comm_size", Int(rank))
      self.rank = Int(rank)
      self.size = Int(size)
    }

    /// Sums every rank's `buffer` into each (`MPI_Iallreduce` with `MPI_SUM`).
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {
      try reduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, isFloat: true)
    }

    /// Sums every rank's `buffer` into each (`MPI_Iallreduce` with `MPI_SUM`).
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {
      try reduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, isFloat: false)
    }

    /// Copies rank `root`'s `buffer` into every rank's (`MPI_Ibcast`).
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int)
      throws(CommunicatorError)
    {
      try share(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, isFloat: true, root)
    }

    /// Copies rank `root`'s `buffer` into every rank's (`MPI_Ibcast`).
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, from root: Int)
      throws(CommunicatorError)
    {
      try share(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, isFloat: false, root)
    }

    /// Starts summing every rank's `buffer` into each (`MPI_Iallreduce`); see
    /// ``Communicator/startAllReduce(_:)-(UnsafeMutableBufferPointer<Float>)``.
    public func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError)
      -> CollectiveRequest
    {
      try start(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, isFloat: true)
    }

    /// Starts summing every rank's `buffer` into each (`MPI_Iallreduce`); see
    /// ``Communicator/startAllReduce(_:)-(UnsafeMutableBufferPointer<Double>)``.
    public func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
      -> CollectiveRequest
    {
      try start(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, isFloat: false)
    }

    /// Whether a started call has finished (`MPI_Test`, which also moves it on).
    public func test(_ request: CollectiveRequest) throws(CommunicatorError) -> Bool {
      guard let memory = pending[request.identifier] else { return true }
      var done: Int32 = 0
      try Self.check(backprop_mpi_test(memory, &done), "MPI_Test", rank)
      if done != 0 { finish(request) }
      return done != 0
    }

    /// Returns once a started call has finished, or throws
    /// ``CommunicatorError/Problem/timedOut(_:)`` after ``timeout`` seconds.
    public func wait(for request: CollectiveRequest) throws(CommunicatorError) {
      guard let memory = pending[request.identifier] else { return }
      try wait("MPI_Iallreduce") { done in backprop_mpi_test(memory, &done) }
      finish(request)
    }

    /// The started calls' `MPI_Request`s, by identifier, each in memory of its own.
    private var pending: [Int: UnsafeMutableRawPointer] = [:]
    /// The last identifier given out.
    private var lastRequest = 0

    private func start(_ buffer: UnsafeMutableRawPointer?, count: Int, isFloat: Bool)
      throws(CommunicatorError)
      -> CollectiveRequest
    {
      let memory = UnsafeMutableRawPointer.allocate(byteCount: backprop_mpi_request_size(), alignment: 16)
      let code = backprop_mpi_iallreduce_sum(buffer, Int32(count), isFloat ? 1 : 0, memory)
      guard code == backprop_mpi_success() else {
        memory.deallocate()
        try Self.check(code, "MPI_Iallreduce", rank)
        return .completed
      }
      lastRequest += 1
      pending[lastRequest] = memory
      return CollectiveRequest(identifier: lastRequest)
    }

    /// Forgets a finished request (MPI has set it to `MPI_REQUEST_NULL`).
    private func finish(_ request: CollectiveRequest) {
      pending.removeValue(forKey: request.identifier)?.deallocate()
    }

    /// Returns once every rank has called it (`MPI_Ibarrier`).
    public func barrier() throws(CommunicatorError) {
      var request = backprop_mpi_request_null()
      try Self.check(MPI_Ibarrier(backprop_mpi_comm_world(), &request), "MPI_Ibarrier", rank)
      try wait("MPI_Ibarrier") { done in MPI_Test(&request, &done, backprop_mpi_status_ignore()) }
    }

    private func reduce(_ buffer: UnsafeMutableRawPointer?, count: Int, isFloat: Bool)
      throws(CommunicatorError)
    {
      var request = backprop_mpi_request_null()
      let type = isFloat ? backprop_mpi_float() : backprop_mpi_double()
      try Self.check(
        MPI_Iallreduce(
          backprop_mpi_in_place(), buffer, Int32(count), type, backprop_mpi_sum(), backprop_mpi_comm_world(),
          &request),
        "MPI_Iallreduce", rank)
      try wait("MPI_Iallreduce") { done in MPI_Test(&request, &done, backprop_mpi_status_ignore()) }
    }

    private func share(_ buffer: UnsafeMutableRawPointer?, count: Int, isFloat: Bool, _ root: Int)
      throws(CommunicatorError)
    {
      var request = backprop_mpi_request_null()
      let type = isFloat ? backprop_mpi_float() : backprop_mpi_double()
      try Self.check(
        MPI_Ibcast(buffer, Int32(count), type, Int32(root), backprop_mpi_comm_world(), &request),
        "MPI_Ibcast", rank)
      try wait("MPI_Ibcast") { done in MPI_Test(&request, &done, backprop_mpi_status_ignore()) }
    }

    /// Calls `test` (`MPI_Test` of the call's request) until it says done or the timeout passes.
    ///
    /// A non-blocking collective advances only while MPI is called, so for its first 10 ms the
    /// wait calls `MPI_Test` back to back (yielding the core in between). Sleeping between tests
    /// from the start tripled the step of cnn_mnist_step's network on two ranks. After that it
    /// sleeps between tests, up to 1 ms, so that a rank waiting for a slow peer does not burn its
    /// core.
    private func wait(_ call: String, _ test: (inout Int32) -> Int32) throws(CommunicatorError) {
      var start = timespec()
      clock_gettime(CLOCK_MONOTONIC, &start)
      var done: Int32 = 0
      var pause = 10_000  // ns, doubling to 1 ms once spinning is over
      while true {
        try Self.check(test(&done), call, rank)
        if done != 0 { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let elapsed = Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) * 1e-9
        if elapsed > timeout { throw CommunicatorError(call: call, rank: rank, .timedOut(timeout)) }
        if elapsed < 0.01 {
          sched_yield()
        } else {
          var interval = timespec(tv_sec: 0, tv_nsec: pause)
          nanosleep(&interval, nil)
          pause = min(pause * 2, 1_000_000)
        }
      }
    }

    /// Throws when `code` is not `MPI_SUCCESS`, with MPI's message for it.
    static func check(_ code: Int32, _ call: String, _ rank: Int) throws(CommunicatorError) {
      guard code != backprop_mpi_success() else { return }
      var message = [CChar](repeating: 0, count: Int(backprop_mpi_max_error_string()) + 1)
      var length: Int32 = 0
      MPI_Error_string(code, &message, &length)
      let text = String(decoding: message.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw CommunicatorError(call: call, rank: rank, .mpi(code: code, message: text))
    }
  }

  /// MPI's initialisation, once per process, and its finalisation at exit.
  private enum MPIProcess {
    nonisolated(unsafe) private static var initialized = false
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
      let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
      pthread_mutex_init(lock, nil)
      return lock
    }()

    static func initialize() throws(CommunicatorError) {
      pthread_mutex_lock(lock)
      defer { pthread_mutex_unlock(lock) }
      if initialized { return }
      var already: Int32 = 0
      MPI_Initialized(&already)
      if already == 0 {
        var provided: Int32 = 0
        try MPICommunicator.check(
          MPI_Init_thread(nil, nil, backprop_mpi_thread_funneled(), &provided), "MPI_Init_thread", 0)
        atexit {
          var finalized: Int32 = 0
          MPI_Finalized(&finalized)
          if finalized == 0 { MPI_Finalize() }
        }
      }
      initialized = true
    }
  }
#endif
