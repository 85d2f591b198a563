import BackpropTensor

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reports training progress: epoch, loss, steps per second and time left.
///
/// On a terminal it keeps one live line, rewritten in place at most ten times a second; when
/// output is piped or redirected it prints plain lines, one every `plainInterval` epochs (and the
/// last), so logs stay short.
///
/// ```swift
/// let progress = TrainingProgress(totalEpochs: 1000)
/// for epoch in 1...1000 {
///   let loss = trainOneEpoch()
///   progress.update(epoch: epoch, loss: loss, steps: batchesPerEpoch)
/// }
/// progress.finish()
/// ```
public final class TrainingProgress {
  /// The number of epochs the run will take.
  public let totalEpochs: Int
  /// `true` to rewrite one line in place, `false` for plain lines.
  public let isLive: Bool
  /// Plain mode prints every this many epochs.
  public let plainInterval: Int
  private let write: (String) -> Void
  private let clock: () -> Double
  private let start: Double
  private var steps = 0
  private var lastDraw = -Double.infinity
  private var lastLine = ""

  /// - Parameters:
  ///   - totalEpochs: The number of epochs the run will take.
  ///   - live: Rewrite one line in place; by default, when standard output is a terminal.
  ///   - plainInterval: In plain mode, print every this many epochs; by default a tenth of the run.
  ///   - write: Where text goes; standard output by default.
  ///   - clock: Seconds from an arbitrary origin; a monotonic clock by default.
  public init(
    totalEpochs: Int, live: Bool? = nil, plainInterval: Int? = nil, write: ((String) -> Void)? = nil,
    clock: (() -> Double)? = nil
  ) {
    self.totalEpochs = totalEpochs
    self.isLive = live ?? (isatty(STDOUT_FILENO) != 0)
    self.plainInterval = Swift.max(plainInterval ?? totalEpochs / 10, 1)
    self.write = write ?? { text in print(text, terminator: "") }
    self.clock = clock ?? TrainingProgress.monotonicSeconds
    self.start = self.clock()
  }

  /// Records that `epoch` finished with `loss` after `steps` optimisation steps.
  public func update(epoch: Int, loss: Double, steps: Int = 1) {
    self.steps += steps
    let now = clock()
    let elapsed = Swift.max(now - start, 1e-9)
    let line = Self.line(
      epoch: epoch, totalEpochs: totalEpochs, loss: loss, stepsPerSecond: Double(self.steps) / elapsed,
      secondsLeft: elapsed / Double(Swift.max(epoch, 1)) * Double(Swift.max(totalEpochs - epoch, 0)))
    lastLine = line
    if isLive {
      if now - lastDraw >= 0.1 || epoch == totalEpochs {
        write("\r\u{1B}[2K" + line)
        lastDraw = now
      }
    } else if epoch % plainInterval == 0 || epoch == totalEpochs {
      write(line + "\n")
    }
  }

  /// Ends the live line with a newline (plain mode needs nothing).
  public func finish() {
    if isLive && !lastLine.isEmpty { write("\n") }
  }

  /// One progress line, e.g. `epoch 10/100  loss 0.012345  1.2k steps/s  0:03 left`, with the
  /// loss to six significant digits.
  public static func line(
    epoch: Int, totalEpochs: Int, loss: Double, stepsPerSecond: Double, secondsLeft: Double
  ) -> String {
    let rate =
      stepsPerSecond >= 1000
      ? "\(Double(Int(stepsPerSecond / 100)) / 10)k" : "\(Int(stepsPerSecond.rounded()))"
    let seconds = Int(secondsLeft.rounded())
    let left = "\(seconds / 60):\(seconds % 60 < 10 ? "0" : "")\(seconds % 60)"
    return "epoch \(epoch)/\(totalEpochs)  loss \(formatSignificant(loss))  \(rate) steps/s  \(left) left"
  }

  static func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
  }
}
