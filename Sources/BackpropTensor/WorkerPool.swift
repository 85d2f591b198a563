import BackpropKernels
import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Worker threads for the parallel parts of matrix products, which wait for the next job by
/// spinning for a short while before they sleep.
///
/// `DispatchQueue.concurrentPerform` parks its workers as soon as a job ends, and waking a parked
/// thread costs about 10 µs here (more on a virtual machine whose idle processor has halted). A
/// training step runs a handful of parallel products a few hundred microseconds apart, so that
/// wake-up would be paid again and again. These workers spin for about ``spinNanoseconds`` after each
/// job, as OpenMP runtimes do, and only then sleep on a condition variable.
///
/// One job runs at a time. A call made while the pool is busy (from another thread, or from inside
/// a job) falls back to `concurrentPerform`, so the pool never deadlocks and never nests.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
  @usableFromInline static let shared = WorkerPool()

  /// How long an idle worker spins before it sleeps.
  static let spinNanoseconds: UInt64 = 200_000

  private let busy = Atomic<Bool>(false)
  private let lock = Mutex<[Worker]>([])

  /// Runs `body(0) … body(participants − 1)`, `body(0)` on the calling thread and each other one
  /// on its own worker, and returns when all have finished.
  @usableFromInline
  func run(participants: Int, _ body: @Sendable (Int) -> Void) {
    guard participants > 1 else {
      if participants == 1 { body(0) }
      return
    }
    ParallelExecution.recorder?.record(participants)
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
      DispatchQueue.concurrentPerform(iterations: participants, execute: body)
      return
    }
    defer { busy.store(false, ordering: .releasing) }
    let workers = lock.withLock { workers in
      while workers.count < participants - 1 { workers.append(Worker()) }
      return Array(workers.prefix(participants - 1))
    }
    withoutActuallyEscaping(body) { body in
      for (index, worker) in workers.enumerated() { worker.start(index: index + 1, body) }
      body(0)
      for worker in workers { worker.wait() }
    }
  }
}

/// One worker thread and its mailbox.
private final class Worker: @unchecked Sendable {
  /// The job; written by the caller before `posted` is incremented, cleared after `finished`
  /// catches up.
  nonisolated(unsafe) private var job: (@Sendable (Int) -> Void)?
  nonisolated(unsafe) private var index = 0
  /// Jobs posted and jobs finished; the worker has a job while `posted > finished`.
  private let posted = Atomic<Int>(0)
  private let finished = Atomic<Int>(0)
  /// `true` while the worker may be waiting on `condition`.
  private let sleeping = Atomic<Bool>(false)
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
    // Darwin's pthread_t is an optional pointer and its start routine takes a non-optional
    // context; glibc's pthread_t is an integer.
    #if canImport(Darwin)
      var thread: pthread_t? = nil
    #else
      var thread = pthread_t()
    #endif
    let context = Unmanaged.passRetained(self).toOpaque()
    let status = pthread_create(
      &thread, nil,
      { context in
        let worker = Unmanaged<Worker>.fromOpaque(nonNil(context)).takeRetainedValue()
        worker.loop()
        return nil
      }, context)
    check(status == 0, "WorkerPool: pthread_create failed with \(status)")
    #if canImport(Darwin)
      pthread_detach(thread!)
    #else
      pthread_detach(thread)
    #endif
  }

  func start(index: Int, _ body: @escaping @Sendable (Int) -> Void) {
    job = body
    self.index = index
    posted.add(1, ordering: .sequentiallyConsistent)
    if sleeping.load(ordering: .sequentiallyConsistent) {
      pthread_mutex_lock(mutex)
      pthread_cond_signal(condition)
      pthread_mutex_unlock(mutex)
    }
  }

  func wait() {
    let target = posted.load(ordering: .relaxed)
    var spins = 0
    while finished.load(ordering: .acquiring) != target {
      bp_spin_pause()
      spins += 1
      // With more threads than processors the worker may need this processor to finish.
      if spins & 63 == 0 { sched_yield() }
    }
    job = nil
  }

  private func loop() {
    var seen = 0
    while true {
      // Spin for a while, then sleep until a job is posted.
      let spinEnd = DispatchTime.now().uptimeNanoseconds + WorkerPool.spinNanoseconds
      var spins = 0
      while posted.load(ordering: .acquiring) == seen {
        bp_spin_pause()
        spins += 1
        // Now and then give the processor to any other thread that is ready to run on it, so
        // that a spinning worker slows down nobody else.
        guard spins & 63 == 0 else { continue }
        sched_yield()
        if DispatchTime.now().uptimeNanoseconds > spinEnd {
          sleeping.store(true, ordering: .sequentiallyConsistent)
          pthread_mutex_lock(mutex)
          while posted.load(ordering: .sequentiallyConsistent) == seen {
            pthread_cond_wait(condition, mutex)
          }
          pthread_mutex_unlock(mutex)
          sleeping.store(false, ordering: .relaxed)
        }
      }
      seen += 1
      runJob()
      finished.store(seen, ordering: .releasing)
    }
  }

  @inline(never)
  private func runJob() {
    job?(index)
  }
}

/// The context of a thread's start routine, which is optional on some C libraries only.
private func nonNil(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer { context! }
