import Backprop
import Synchronization
import Testing

@Suite("Training progress")
struct TrainingProgressTests {
  /// Collects what the reporter writes; the clock advances one second per call.
  final class Capture: Sendable {
    let text = Mutex("")
    let time = Mutex(0.0)
    func write(_ s: String) { text.withLock { $0 += s } }
    func tick() -> Double {
      time.withLock {
        $0 += 1; return $0
      }
    }
  }

  @Test("A line shows epoch, loss, steps per second and time left")
  func lineFormat() {
    let line = TrainingProgress.line(
      epoch: 10, totalEpochs: 100, loss: 0.5, stepsPerSecond: 1234, secondsLeft: 75)
    #expect(line == "epoch 10/100  loss 0.5  1.2k steps/s  1:15 left")
  }

  @Test("Piped output prints plain lines every interval and at the end")
  func plainLines() {
    let capture = Capture()
    let progress = TrainingProgress(
      totalEpochs: 25, live: false, plainInterval: 10, write: capture.write, clock: capture.tick)
    for epoch in 1...25 { progress.update(epoch: epoch, loss: 1.0 / Double(epoch), steps: 4) }
    progress.finish()
    let lines = capture.text.withLock { $0 }.split(separator: "\n")
    #expect(lines.count == 3)
    #expect(lines[0].hasPrefix("epoch 10/25"))
    #expect(lines[2].hasPrefix("epoch 25/25") && lines[2].hasSuffix("0:00 left"))
    #expect(!capture.text.withLock { $0 }.contains("\r"))
  }

  @Test("A terminal gets one line rewritten in place, ended by finish()")
  func liveLine() {
    let capture = Capture()
    let progress = TrainingProgress(totalEpochs: 3, live: true, write: capture.write, clock: capture.tick)
    for epoch in 1...3 { progress.update(epoch: epoch, loss: 0.1) }
    progress.finish()
    let text = capture.text.withLock { $0 }
    #expect(text.filter { $0 == "\r" }.count == 3)
    #expect(text.hasSuffix("left\n"))
  }
}
