import BackpropAutodiff
import BackpropTensor

/// Scales every gradient of `parameters` so that their global L2 norm is at most `maxNorm`
/// (PyTorch's `clip_grad_norm_`), and returns the norm before clipping.
///
/// - Parameters:
///   - parameters: Usually `model.parameters`; those without a gradient are skipped.
///   - maxNorm: The largest norm left unchanged.
/// - Returns: The global norm √(Σ g²) of the gradients as they were.
@discardableResult
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func clipGradients<Scalar>(of parameters: [Variable<Scalar>], maxNorm: Scalar) -> Scalar {
  var squares: Scalar = 0
  for gradient in parameters.compactMap(\.grad) {
    squares += gradient.withUnsafeBufferPointer { g in
      // Four partial sums, so that the additions do not wait on each other.
      var (a, b, c, d): (Scalar, Scalar, Scalar, Scalar) = (0, 0, 0, 0)
      var i = 0
      while i + 4 <= g.count {
        (a, b, c, d) = (
          a + g[i] * g[i], b + g[i + 1] * g[i + 1], c + g[i + 2] * g[i + 2], d + g[i + 3] * g[i + 3]
        )
        i += 4
      }
      while i < g.count {
        a += g[i] * g[i]
        i += 1
      }
      return (a + b) + (c + d)
    }
  }
  let norm = squares.squareRoot()
  guard norm > maxNorm, norm > 0 else { return norm }
  let factor = Tensor(maxNorm / norm)
  for parameter in parameters { parameter.grad = parameter.grad.map { $0 * factor } }
  return norm
}
