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
  let squares = parameters.reduce(Scalar(0)) { $0 + ($1.grad?.sumOfSquares() ?? 0) }
  let norm = squares.squareRoot()
  guard norm > maxNorm, norm > 0 else { return norm }
  let factor = Tensor(maxNorm / norm)
  for parameter in parameters { parameter.grad = parameter.grad.map { $0 * factor } }
  return norm
}
