extension Tensor {
  /// self + bias for a matrix `[m, n]` and a `bias` of `[n]` added to every row, in this tensor's
  /// buffer when no other tensor shares it (a product just computed): x·W + b without a second
  /// tensor. Each scalar has the bits of `self + bias`.
  ///
  /// - Precondition: the tensor is a matrix and `bias` is `[n]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package consuming func addingRow(_ bias: Tensor) -> Tensor {
    check(shape.count == 2, "addingRow(_:): tensor of shape \(shape); expected a matrix [m, n]")
    let (m, n) = (shape[0], shape[1])
    check(bias.shape == [n], "addingRow(_:): bias of shape \(bias.shape) for \(n) columns; expected [\(n)]")
    guard !isSingle && !bias.isSingle else { return self + bias }
    var result = self
    bias.withUnsafeBufferPointer { b in
      result.withUnsafeMutableBufferPointer { y in
        guard let y = y.baseAddress, let b = b.baseAddress else { return }
        for i in 0..<m {
          let row = y + i * n
          for j in 0..<n { row[j] = row[j] + b[j] }
        }
      }
    }
    return result
  }

  /// relu(self + bias) for a matrix `[m, n]` and a `bias` of `[n]` added to every row (relu(self)
  /// without one), in one pass: relu(x·W + b) without a tensor for x·W + b. Each scalar has the
  /// bits of `(self + bias).relu()`.
  ///
  /// - Precondition: the tensor is a matrix and `bias`, when given, is `[n]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func rectified(addingRow bias: Tensor?) -> Tensor {
    check(shape.count == 2, "rectified(addingRow:): tensor of shape \(shape); expected a matrix [m, n]")
    let (m, n) = (shape[0], shape[1])
    guard let bias else { return relu() }
    check(
      bias.shape == [n],
      "rectified(addingRow:): bias of shape \(bias.shape) for \(n) columns; expected [\(n)]")
    guard !isSingle && !bias.isSingle else { return (self + bias).relu() }
    let result = withUnsafeBufferPointer { x in
      bias.withUnsafeBufferPointer { b in
        Tensor.makeBuffer(count: x.count) { out in
          guard let x = x.baseAddress, let b = b.baseAddress, let out = out.baseAddress else { return }
          // Rows split across threads for a large matrix; each scalar is computed alone, so the
          // result does not depend on the split. Both loads and the sum before the choice, so
          // that the loop compiles to vector selects, as in relu().
          ParallelExecution.forEachShare(of: m, isLarge: m * n >= ParallelExecution.elementwiseThreshold) {
            rows in
            for i in rows {
              let (row, target) = (x + i * n, out + i * n)
              for j in 0..<n {
                let value = row[j] + b[j]
                target[j] = value > 0 ? value : 0
              }
            }
          }
        }
      }
    }
    return Tensor(uncheckedShape: shape, buffer: result)
  }

  /// This gradient `[m, n]` where `output` is positive and 0 elsewhere, and the sums of its
  /// columns `[n]`: the gradients of relu(x·W + b) for x·W and for b, in one pass over the rows.
  /// The bits are those of ``zeroed(whereNotPositive:)`` and of summing its rows in turn into
  /// zeros (`unbroadcasted(to: [n])`); a large matrix takes those two, whose mask splits across
  /// threads.
  ///
  /// - Precondition: both are one matrix `[m, n]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func zeroedWithColumnSums(whereNotPositive output: Tensor) -> (masked: Tensor, sums: Tensor) {
    check(
      shape.count == 2 && output.hasSameShape(as: self),
      "zeroedWithColumnSums(whereNotPositive:): gradient \(shape) and output \(output.shape) must be one [m, n]"
    )
    let (m, n) = (shape[0], shape[1])
    guard !isSingle && !output.isSingle && m * n < ParallelExecution.elementwiseThreshold else {
      let masked = zeroed(whereNotPositive: output)
      return (masked, masked.unbroadcasted(to: [n]))
    }
    var sums = [Scalar](repeating: 0, count: n)
    let masked = withUnsafeBufferPointer { g in
      output.withUnsafeBufferPointer { y in
        Tensor.makeBuffer(count: g.count) { out in
          guard let g = g.baseAddress, let y = y.baseAddress, let out = out.baseAddress else { return }
          sums.withUnsafeMutableBufferPointer { sums in
            guard let sums = sums.baseAddress else { return }
            // Each row masked, then added to the sums while it is in L1: two loops that
            // vectorise, as zeroed(whereNotPositive:) and sum(alongAxes: [0]) do.
            for i in 0..<m {
              let (gradient, value, target) = (g + i * n, y + i * n, out + i * n)
              for j in 0..<n {
                let (g, y) = (gradient[j], value[j])
                target[j] = y > 0 ? g : 0
              }
              for j in 0..<n { sums[j] = sums[j] + target[j] }
            }
          }
        }
      }
    }
    return (Tensor(uncheckedShape: shape, buffer: masked), Tensor(uncheckedShape: [n], scalars: sums))
  }
}
