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
/// The default is the environment variable `BACKPROP_THREADS` when it holds a positive number,
/// else the number of processors online. Every thread count gives the same results bit for bit:
/// each element of a product is summed in the same order whichever thread computes it.
public enum ParallelExecution {
  private static let configured = Atomic<Int>(0)

  /// The maximum number of threads a matrix product uses; at least 1.
  ///
  /// Setting it affects products started afterwards, on every thread.
  public static var threadCount: Int {
    get {
      let value = configured.load(ordering: .relaxed)
      return value > 0 ? value : defaultThreadCount
    }
    set {
      check(newValue >= 1, "ParallelExecution.threadCount must be at least 1, got \(newValue)")
      configured.store(newValue, ordering: .relaxed)
    }
  }

  /// `BACKPROP_THREADS`, or the processors online.
  public static let defaultThreadCount: Int = {
    if let text = getenv("BACKPROP_THREADS"), let value = Int(String(cString: text)), value > 0 {
      return value
    }
    return Swift.max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
  }()

  /// The instruction set of the matrix-product kernels on this CPU: `"avx2+fma"` or
  /// `"portable"`.
  public static var matrixKernelInstructionSet: String { String(cString: bp_gemm_instruction_set()) }

  /// Calls `body` with disjoint ranges that together cover `0..<count`, one per thread on up to
  /// ``threadCount`` threads when `isLarge`, else once with the whole range on this thread.
  ///
  /// Each share must write only what its own indices own (images, planes), so that the result
  /// is the same for every thread count.
  /// Inlinable, so that below the threshold `body` is inlined into its caller, in any module.
  @inlinable @inline(__always)
  static func forEachShare(of count: Int, isLarge: Bool, _ body: (Range<Int>) -> Void) {
    let threads = Swift.min(threadCount, count)
    guard isLarge && threads > 1 else { return body(0..<count) }
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
