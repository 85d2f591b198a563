import BackpropTensor

/// The fraction of samples whose largest logit is at their label, in `0...1`.
///
/// - Parameters:
///   - logits: Scores `[N, C]`.
///   - labels: The class of each of the N samples.
/// - Precondition: the logits have rank 2 and one row per label.
public func accuracy<Scalar>(logits: Tensor<Scalar>, labels: [Int]) -> Double {
  check(
    logits.rank == 2 && logits.shape[0] == labels.count,
    "accuracy(logits:labels:): logits of shape \(logits.shape) for \(labels.count) labels")
  guard !labels.isEmpty else { return 0 }
  let predictions = logits.argmax(alongAxis: 1)
  return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
}

/// How often each class was predicted as each other class: `counts[actual][predicted]`.
///
/// Its description is a table with the actual classes down and the predicted across.
public struct ConfusionMatrix: Sendable, Equatable, CustomStringConvertible {
  /// `counts[actual][predicted]`.
  public private(set) var counts: [[Int]]

  /// The matrix of the predictions of `logits` (their largest entries) against `labels`.
  ///
  /// - Parameters:
  ///   - logits: Scores `[N, C]`; C is the number of classes.
  ///   - labels: The class of each of the N samples, each in `0..<C`.
  /// - Precondition: one row per label, and every label in `0..<C`.
  public init<Scalar>(logits: Tensor<Scalar>, labels: [Int]) {
    check(
      logits.rank == 2 && logits.shape[0] == labels.count,
      "ConfusionMatrix: logits of shape \(logits.shape) for \(labels.count) labels")
    let classes = logits.shape[1]
    counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    for (predicted, actual) in zip(logits.argmax(alongAxis: 1), labels) {
      check(actual >= 0 && actual < classes, "ConfusionMatrix: label \(actual) is outside 0..<\(classes)")
      counts[actual][predicted] += 1
    }
  }

  /// The fraction of samples on the diagonal.
  public var accuracy: Double {
    let total = counts.joined().reduce(0, +)
    return total == 0 ? 0 : Double(counts.indices.reduce(0) { $0 + counts[$1][$1] }) / Double(total)
  }

  /// A table: one row per actual class, one column per predicted class.
  public var description: String {
    let width = Swift.max(3, String(counts.joined().max() ?? 0).count + 1)
    func cell(_ text: String) -> String {
      String(repeating: " ", count: Swift.max(0, width - text.count)) + text
    }
    var lines = ["actual ↓ predicted → " + counts.indices.map { cell(String($0)) }.joined()]
    for (actual, row) in counts.enumerated() {
      lines.append(cell(String(actual)).padding(toLength: 22) + row.map { cell(String($0)) }.joined())
    }
    return lines.joined(separator: "\n")
  }
}

extension String {
  fileprivate func padding(toLength length: Int) -> String {
    count >= length ? self : self + String(repeating: " ", count: length - count)
  }
}
