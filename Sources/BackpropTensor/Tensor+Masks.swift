extension Tensor {
  /// One row per label with a 1 in that label's column and 0 elsewhere: `[labels.count,
  /// classCount]` (PyTorch's `F.one_hot`, as floating point).
  ///
  /// - Precondition: Every label is in `0..<classCount`.
  public init(oneHot labels: [Int], classCount: Int) {
    var scalars = [Scalar](repeating: 0, count: labels.count * classCount)
    for (row, label) in labels.enumerated() {
      check(
        label >= 0 && label < classCount,
        "Tensor(oneHot:classCount:): label \(label) at \(row) is outside 0..<\(classCount)")
      scalars[row * classCount + label] = 1
    }
    self = try! Tensor(shape: [labels.count, classCount], scalars: scalars)
  }

  /// The causal mask of a sequence of `length`: `[length, length]`, 1 where query position t
  /// may attend to key position s (s ≤ t), 0 above the diagonal.
  public static func causalMask(length: Int) -> Tensor {
    check(length >= 0, "Tensor.causalMask(length:): negative length \(length)")
    var scalars = [Scalar](repeating: 0, count: length * length)
    for t in 0..<length {
      for s in 0...t { scalars[t * length + s] = 1 }
    }
    return try! Tensor(shape: [length, length], scalars: scalars)
  }
}
