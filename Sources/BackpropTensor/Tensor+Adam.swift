import BackpropKernels

extension Tensor {
  /// Adam's update of `value` in place, in one pass through a C kernel over the value, its
  /// `gradient` and its two moment estimates (tensor arithmetic makes about a dozen passes):
  /// g' = g + value·decay, m = m·β₁ + g'·(1 − β₁), v = v·β₂ + g'²·(1 − β₂),
  /// value −= (m / c₁)·α / (√(v / c₂) + ε), with the same operations in the same order.
  ///
  /// For the optimisers in BackpropNN.
  /// - Returns: `false`, changing nothing, when the four do not hold the same number of scalars
  ///   or the scalar type is neither `Float` nor `Double`; the caller then does the arithmetic.
  package static func adamUpdate(
    _ value: inout Tensor, firstMoment: inout Tensor, secondMoment: inout Tensor, gradient: Tensor,
    learningRate: Scalar, beta1: Scalar, beta2: Scalar, correction1: Scalar, correction2: Scalar,
    epsilon: Scalar, decay: Scalar
  ) -> Bool {
    let count = value.scalarCount
    guard firstMoment.scalarCount == count, secondMoment.scalarCount == count, gradient.scalarCount == count,
      Scalar.self == Float.self || Scalar.self == Double.self
    else { return false }
    value.withUnsafeMutableBufferPointer { value in
      firstMoment.withUnsafeMutableBufferPointer { first in
        secondMoment.withUnsafeMutableBufferPointer { second in
          gradient.withUnsafeBufferPointer { gradient in
            guard let v = value.baseAddress, let m = first.baseAddress, let s = second.baseAddress,
              let g = gradient.baseAddress
            else { return }
            if Scalar.self == Float.self {
              func float(_ x: Scalar) -> Float { Float(x) }
              bp_adam_f32(
                UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(m).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(s).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(g).assumingMemoryBound(to: Float.self), count, float(learningRate),
                float(beta1),
                float(beta2), float(correction1), float(correction2), float(epsilon), float(decay))
            } else {
              func double(_ x: Scalar) -> Double { Double(x) }
              bp_adam_f64(
                UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(m).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(s).assumingMemoryBound(to: Double.self),
                UnsafeRawPointer(g).assumingMemoryBound(to: Double.self), count, double(learningRate),
                double(beta1), double(beta2), double(correction1), double(correction2), double(epsilon),
                double(decay))
            }
          }
        }
      }
    }
    return true
  }
}
