import BackpropAutodiff
import BackpropTensor

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// How an optimiser's learning rate changes with its step count: the rate at step t (counting
/// from 0) is the optimiser's `learningRate` times ``factor(atStep:)``. Schedules compose with
/// ``then(after:_:)``: a linear warm-up, then a cosine decay.
///
/// ```swift
/// let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
/// adam.schedule = .linearWarmup(steps: 100).then(after: 100, .cosine(steps: 900))
/// ```
///
/// The optimiser's step count goes into checkpoints, so a resumed run follows the same rates.
public struct LearningRateSchedule: Sendable {
  private let rule: @Sendable (Int) -> Double

  /// A schedule whose factor at step t is `rule(t)`.
  public init(_ rule: @escaping @Sendable (_ step: Int) -> Double) { self.rule = rule }

  /// The factor at step `step` (0 for the first step).
  public func factor(atStep step: Int) -> Double { rule(step) }

  /// The rate times `factor` after every `every` steps (PyTorch's `StepLR`): 1 for steps
  /// `0..<every`, `factor` for the next `every`, and so on.
  ///
  /// - Precondition: `every >= 1`.
  public static func step(every: Int, factor: Double) -> LearningRateSchedule {
    check(every >= 1, "LearningRateSchedule.step: every \(every) must be at least 1")
    return LearningRateSchedule { pow(factor, Double($0 / every)) }
  }

  /// A half cosine from 1 down to `minimum` over `steps` steps, then `minimum` (PyTorch's
  /// `CosineAnnealingLR` with `eta_min` = minimum·rate): minimum + (1 − minimum)(1 + cos(π t / steps)) / 2.
  ///
  /// - Precondition: `steps >= 1`.
  public static func cosine(steps: Int, minimum: Double = 0) -> LearningRateSchedule {
    check(steps >= 1, "LearningRateSchedule.cosine: steps \(steps) must be at least 1")
    return LearningRateSchedule { step in
      let t = Double(Swift.min(step, steps)) / Double(steps)
      return minimum + (1 - minimum) * (1 + cos(Double.pi * t)) / 2
    }
  }

  /// A linear rise over `steps` steps, (t + 1) / steps, then 1.
  ///
  /// - Precondition: `steps >= 1`.
  public static func linearWarmup(steps: Int) -> LearningRateSchedule {
    check(steps >= 1, "LearningRateSchedule.linearWarmup: steps \(steps) must be at least 1")
    return LearningRateSchedule { Swift.min(1, Double($0 + 1) / Double(steps)) }
  }

  /// This schedule for the first `steps` steps, then `next` counted from 0 again.
  public func then(after steps: Int, _ next: LearningRateSchedule) -> LearningRateSchedule {
    let first = self
    return LearningRateSchedule { $0 < steps ? first.factor(atStep: $0) : next.factor(atStep: $0 - steps) }
  }
}

/// `base` times the schedule's factor at `step`, or `base` without a schedule: the learning rate
/// every optimiser steps with.
@inlinable
func scheduledRate<Scalar: TensorScalar>(_ base: Scalar, _ schedule: LearningRateSchedule?, atStep step: Int)
  -> Scalar
{
  schedule.map { base * Scalar($0.factor(atStep: step)) } ?? base
}
