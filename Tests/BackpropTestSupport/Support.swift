import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `true` when every element satisfies |a − b| ≤ atol + rtol·|b| and the shapes are equal.
public func isClose<Scalar: TensorScalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, absoluteTolerance: Scalar = 1e-9, relativeTolerance: Scalar = 1e-9
) -> Bool {
  a.shape == b.shape
    && zip(a.scalars, b.scalars).allSatisfy { x, y in
      Swift.abs(x - y) <= absoluteTolerance + relativeTolerance * Swift.abs(y)
    }
}

/// `true` when |a − b| ≤ atol + rtol·|b|.
public func isClose<Scalar: TensorScalar>(
  _ a: Scalar, _ b: Scalar, absoluteTolerance: Scalar = 1e-9, relativeTolerance: Scalar = 1e-9
) -> Bool {
  Swift.abs(a - b) <= absoluteTolerance + relativeTolerance * Swift.abs(b)
}

/// A tensor of the given shape with values drawn uniformly from `range`, away from zero by at
/// least `margin` in absolute value when `margin > 0` (to stay off kinks such as relu's).
public func randomTensor<Scalar: TensorScalar>(
  _ shape: [Int], in range: ClosedRange<Double> = -2...2, awayFromZeroBy margin: Double = 0,
  using generator: inout SeededRandomNumberGenerator
) -> Tensor<Scalar> {
  let count = shape.reduce(1, *)
  var values: [Scalar] = []
  while values.count < count {
    let u = Double(generator.next() >> 11) * 0x1p-53
    let x = range.lowerBound + (range.upperBound - range.lowerBound) * u
    if Swift.abs(x) >= margin { values.append(Scalar(x)) }
  }
  return try! Tensor(shape: shape, scalars: values)
}

/// Converts a tensor between scalar types.
public func converted<From: TensorScalar, To: TensorScalar>(_ t: Tensor<From>, to: To.Type = To.self)
  -> Tensor<To>
{
  try! Tensor<To>(shape: t.shape, scalars: t.scalars.map { To(Double($0)) })
}

/// `true` when the process runs under AddressSanitizer or ThreadSanitizer (`swift test
/// --sanitize=…`), whose allocators replace the C library's: tests of allocator settings skip.
public let runsUnderSanitizer: Bool = [String](["__asan_init", "__tsan_init"]).contains { name in
  dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) != nil  // RTLD_DEFAULT
}

/// Compares the tape's gradient of `loss` with respect to each element of `parameters` (a
/// layer's own variables, which `checkGradients` cannot substitute) with central finite
/// differences. Returns the names of the elements that disagree beyond atol + rtol·|estimate|.
public func parameterGradientMismatches(
  _ parameters: [(name: String, variable: Variable<Double>)], epsilon: Double = 1e-6,
  absoluteTolerance: Double = 1e-6, relativeTolerance: Double = 1e-4, _ loss: () -> Variable<Double>
) -> [String] {
  for (_, variable) in parameters { variable.zeroGrad() }
  loss().backward()
  var mismatches: [String] = []
  for (name, variable) in parameters {
    let tape = variable.grad ?? Tensor(zeros: variable.shape)
    for index in 0..<variable.value.scalarCount {
      let original = variable.value[scalarAt: index]
      variable.value[scalarAt: index] = original + epsilon
      let plus = loss().value.scalar
      variable.value[scalarAt: index] = original - epsilon
      let minus = loss().value.scalar
      variable.value[scalarAt: index] = original
      let estimate = (plus - minus) / (2 * epsilon)
      if Swift.abs(tape[scalarAt: index] - estimate) > absoluteTolerance + relativeTolerance
        * Swift.abs(estimate)
      {
        mismatches.append("\(name)[\(index)]: tape \(tape[scalarAt: index]), finite differences \(estimate)")
      }
    }
  }
  return mismatches
}
