import BackpropTensor
import Synchronization

/// Per-task (per-thread outside Swift concurrency) switches of the tape. No setting is global:
/// two threads training two models never see each other's settings.
struct GradientMode: Sendable {
  var isRecording = true
  var detectsAnomalies = false
  var counter: LiveVariableCounter? = nil
  /// `false` while a tangent rule runs: the operations it records carry no tangents of their own.
  var propagatesTangents = true
  /// `false` inside ``jvp(of:at:tangents:)``: tangents are computed on tensors even where the
  /// inputs require gradients, since nothing differentiates them.
  var recordsTangents = true

  /// The settings of the current task.
  ///
  /// Every recorded operation asks for them. While no scope that changes them exists anywhere,
  /// they are the defaults, and one atomic load says so instead of a task-local look-up.
  static var current: GradientMode {
    Scope.live.load(ordering: .relaxed) == 0 ? GradientMode() : (scope?.mode ?? GradientMode())
  }

  /// The innermost scope of the current task, if any.
  @TaskLocal private static var scope: Scope? = nil

  /// Runs `body` with `mode` as the current settings.
  static func with<R>(_ mode: GradientMode, _ body: () throws -> R) rethrows -> R {
    try $scope.withValue(Scope(mode), operation: body)
  }

  /// The settings of one ``with(_:_:)`` scope, counted in `live` while it exists.
  ///
  /// A task that inherits the scope's task-local value (a `Task` created inside it) holds the
  /// scope too, so the count cannot drop to zero while any task can still see these settings;
  /// a task that sees a count above zero but is in no scope reads the defaults from its
  /// task-local value.
  private final class Scope: Sendable {
    static let live = Atomic<Int>(0)
    let mode: GradientMode

    init(_ mode: GradientMode) {
      self.mode = mode
      Self.live.add(1, ordering: .relaxed)
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }
  }
}

/// Runs `body` without recording any operation: results are constants and hold no graph
/// (PyTorch's `no_grad`). Use it for evaluation and for updating parameters.
///
/// The setting applies to the current task or thread only.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
  var mode = GradientMode.current
  mode.isRecording = false
  return try GradientMode.with(mode, body)
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
  return try GradientMode.with(mode, body)
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
  return try GradientMode.with(mode) { try body(counter) }
}

/// The names of the operations whose tangents forward mode derived by transposing their
/// pullbacks, because they have no tangent rule of their own.
final class TranspositionLog: Sendable {
  /// The log of the current task, if any: read only where a tangent is derived by transposition,
  /// so that the settings every operation reads stay small.
  @TaskLocal static var current: TranspositionLog? = nil

  private let names = Mutex<[String]>([])

  /// The operations, in order, one entry per transposition.
  var operations: [String] { names.withLock { $0 } }

  func append(_ name: String) { names.withLock { $0.append(name) } }
}

/// Runs `body` with a log of the operations whose tangents were derived by transposition.
func loggingTranspositions<R>(_ body: (TranspositionLog) throws -> R) rethrows -> R {
  let log = TranspositionLog()
  return try TranspositionLog.$current.withValue(log) { try body(log) }
}
