/// Whether layers run as in training or as in inference: ``Dropout`` drops units and
/// ``BatchNorm`` normalises with the batch's statistics (and updates its running ones) only in
/// training.
///
/// The phase is training unless code runs inside ``withLearningPhase(_:_:)``, as a PyTorch
/// module is in training mode until `eval()`:
///
/// ```swift
/// let predictions = withLearningPhase(.inference) { withoutGradients { model(x) } }
/// ```
///
/// The setting is task-local, like `withoutGradients(_:)`: two threads may train and evaluate
/// two models at once.
public enum LearningPhase: Sendable, Equatable {
  /// Dropout drops, batch normalisation uses and updates batch statistics.
  case training
  /// Dropout passes its input through, batch normalisation uses its running statistics.
  case inference

  /// The phase of the current task: `.training` unless set by ``withLearningPhase(_:_:)``.
  public static var current: LearningPhase { phase }

  @TaskLocal static var phase: LearningPhase = .training
}

/// Runs `body` with the layers in `phase` (``LearningPhase``), and returns its result.
///
/// - Parameters:
///   - phase: `.inference` to evaluate a model, `.training` to train one inside an inference scope.
///   - body: The code to run, typically a forward pass.
public func withLearningPhase<R>(_ phase: LearningPhase, _ body: () throws -> R) rethrows -> R {
  try LearningPhase.$phase.withValue(phase, operation: body)
}
