import BackpropKernels
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// How many threads large matrix products, im2col and col2im, and max pooling's search may use.
///
/// A product of at least 32³ multiply-adds is split across up to ``threadCount`` threads (by rows,
/// or by columns when it is wider than tall); smaller ones run on the calling thread. `unfolded`,
/// `folded` and `windowMaximumOffsets` split a large batch by images. The threads
/// are the calling one and workers that the library starts on first use and keeps; an idle worker
/// spins for 0.2 ms before it sleeps, so the next product of a training step finds it awake.
///
/// The count is the environment variable `BACKPROP_THREADS` when it holds a positive number,
/// else the number of processors online, and ``withThreadCount(_:_:)`` changes it for a scope of
/// the current task (or thread), as `withoutGradients` does for recording: two tasks can run with
/// different counts at once, and nothing another task does changes this one's. Every thread
/// count gives the same results bit for bit: each element of a product is summed in the same
/// order whichever thread computes it.
public enum ParallelExecution {
  /// The maximum number of threads a matrix product started by the current task uses; at least 1.
  ///
  /// ``defaultThreadCount`` unless a ``withThreadCount(_:_:)`` scope of this task says otherwise.
  public static var threadCount: Int {
    // While no scope exists anywhere, one atomic load replaces the task-local look-up.
    Scope.live.load(ordering: .relaxed) == 0 ? defaultThreadCount : (scope?.threadCount ?? defaultThreadCount)
  }

  /// Runs `body` with ``threadCount`` equal to `count` for the current task or thread.
  ///
  /// ```swift
  /// let product = ParallelExecution.withThreadCount(1) { matmul(a, b) }   // on this thread only
  /// ```
  /// Tasks created inside the scope inherit the count; the library's worker threads do not need
  /// to, since they never start products of their own.
  /// - Parameters:
  ///   - count: The maximum number of threads.
  ///   - body: The work to run with that count.
  /// - Precondition: `count ≥ 1`.
  public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    check(count >= 1, "ParallelExecution.withThreadCount(_:_:): the count must be at least 1, got \(count)")
    return try $scope.withValue(Scope(threadCount: count, recorder: scope?.recorder), operation: body)
  }

  /// `BACKPROP_THREADS`, or the processors online.
  public static let defaultThreadCount: Int = {
    if let text = getenv("BACKPROP_THREADS"), let value = Int(String(cString: text)), value > 0 {
      return value
    }
    return Swift.max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
  }()

  /// Runs `body` and returns, beside its result, the largest number of threads that one job of
  /// the worker pool took inside it, in this task: 1 when everything ran on the calling thread.
  /// For tests that must show they ran threaded.
  package static func measuringThreads<R>(_ body: () throws -> R) rethrows -> (result: R, threads: Int) {
    let recorder = ThreadRecorder()
    let result = try $scope.withValue(
      Scope(threadCount: threadCount, recorder: recorder), operation: body)
    return (result, recorder.largest.load(ordering: .relaxed))
  }

  /// The job sizes the current task's pool jobs are recorded in, if it is measuring them.
  static var recorder: ThreadRecorder? {
    Scope.live.load(ordering: .relaxed) == 0 ? nil : scope?.recorder
  }

  /// The innermost scope of the current task, if any.
  @TaskLocal private static var scope: Scope? = nil

  /// The settings of one scope, counted in `live` while it exists (as `GradientMode`'s scopes
  /// are: a task that inherits the value holds the scope, so the count cannot reach zero while
  /// any task still sees it).
  private final class Scope: Sendable {
    static let live = Atomic<Int>(0)
    let threadCount: Int
    let recorder: ThreadRecorder?

    init(threadCount: Int, recorder: ThreadRecorder?) {
      (self.threadCount, self.recorder) = (threadCount, recorder)
      Self.live.add(1, ordering: .relaxed)
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }
  }

  /// The largest number of participants of a pool job while a test measures.
  final class ThreadRecorder: Sendable {
    let largest = Atomic<Int>(1)

    func record(_ participants: Int) { largest.max(participants, ordering: .relaxed) }
  }

  /// The instruction set of the matrix-product kernels in this process: `"avx512"`,
  /// `"avx2+fma"`, `"neon"`, `"portable"`, or `"accelerate"` (Apple's BLAS, on Apple platforms).
  ///
  /// The best the processor runs, unless the environment variable `BACKPROP_KERNELS` names
  /// another path it runs (`portable`, `avx2`, `avx512`, `neon`, `accelerate`), as
  /// `OPENBLAS_CORETYPE` does for OpenBLAS, for tests and comparisons; a request it cannot honour
  /// is said once on standard error. The AVX2, AVX-512 and NEON paths give the same bits.
  public static var matrixKernelInstructionSet: String { String(cString: bp_gemm_instruction_set()) }

  /// Calls `body` with disjoint ranges that together cover `0..<count`, one per thread on up to
  /// ``threadCount`` threads when `isLarge`, else once with the whole range on this thread.
  ///
  /// Each share must write only what its own indices own (images, planes), so that the result
  /// is the same for every thread count.
  /// Inlinable, so that below the threshold `body` is inlined into its caller, in any module.
  @inlinable @inline(__always)
  static func forEachShare(of count: Int, isLarge: Bool, _ body: (Range<Int>) -> Void) {
    guard isLarge else { return body(0..<count) }
    let threads = Swift.min(threadCount, count)
    guard threads > 1 else { return body(0..<count) }
    withoutActuallyEscaping(body) { body in
      let share = UncheckedSendable(body)
      WorkerPool.shared.run(participants: threads) { index in
        share.value(count * index / threads..<count * (index + 1) / threads)
      }
    }
  }
}

/// A value handed to the worker threads of ``ParallelExecution/forEachShare(of:isLarge:_:)``,
/// whose callers make sure that the threads touch disjoint memory.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
  @usableFromInline let value: Value
  @inlinable init(_ value: Value) { self.value = value }
}

extension ParallelExecution {
  /// Elementwise loops over at least this many scalars (1 MiB of `Float`) split across threads:
  /// below it a share would finish before a worker had started.
  @usableFromInline static let elementwiseThreshold = 1 << 18
}
