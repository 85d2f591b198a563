import BackpropTensor
import Synchronization

/// Per-task (per-thread outside Swift concurrency) switches of the tape. Nothing here is global:
/// two threads training two models never see each other's settings.
struct GradientMode: Sendable {
  var isRecording = true
  var detectsAnomalies = false
  var counter: LiveVariableCounter? = nil

  @TaskLocal static var current = GradientMode()
}

/// Runs `body` without recording any operation: results are constants and hold no graph
/// (PyTorch's `no_grad`). Use it for evaluation and for updating parameters.
///
/// The setting applies to the current task or thread only.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
  var mode = GradientMode.current
  mode.isRecording = false
  return try GradientMode.$current.withValue(mode, operation: body)
}

/// Runs `body` with anomaly detection: the first operation whose forward value or backward
/// gradient contains NaN or ±infinity stops the program with a message naming the operation,
/// the shape, and the `file:line` that created it.
///
/// Detection captures a backtrace per recorded operation, so it is slow; use it to find the
/// source of a NaN, not for training. The setting applies to the current task or thread only.
public func withAnomalyDetection<R>(_ body: () throws -> R) rethrows -> R {
  var mode = GradientMode.current
  mode.detectsAnomalies = true
  return try GradientMode.$current.withValue(mode, operation: body)
}

/// Counts the variables created inside ``countingLiveVariables(_:)`` that are still alive.
///
/// Used to check that a training loop releases its graphs: the count after each step should
/// not grow.
public final class LiveVariableCounter: Sendable {
  private let live = Atomic<Int>(0)

  /// The number of variables created under this counter and not yet freed.
  public var count: Int { live.load(ordering: .relaxed) }

  func increment() { live.add(1, ordering: .relaxed) }
  func decrement() { live.subtract(1, ordering: .relaxed) }
}

/// Runs `body` with a counter of the variables it creates that are still alive.
public func countingLiveVariables<R>(_ body: (LiveVariableCounter) throws -> R) rethrows -> R {
  let counter = LiveVariableCounter()
  var mode = GradientMode.current
  mode.counter = counter
  return try GradientMode.$current.withValue(mode) { try body(counter) }
}
