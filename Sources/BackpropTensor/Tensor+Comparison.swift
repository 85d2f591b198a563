/// Elementwise comparisons, which make 0/1 masks, and the choice between two tensors by a mask.
///
/// The comparisons broadcast as arithmetic does and return 1 where the comparison holds and 0
/// elsewhere, in the tensors' own scalar type, so that a mask multiplies or selects directly:
/// `select(x .> 0, x, 0.1 * x)`.
extension Tensor {
  /// 1 where `lhs < rhs`, else 0. The operands broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .< (lhs: Tensor, rhs: Tensor) -> Tensor {
    zip(lhs, rhs, operation: ".<") { $0 < $1 ? 1 : 0 }
  }
  /// 1 where `lhs <= rhs`, else 0. The operands broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .<= (lhs: Tensor, rhs: Tensor) -> Tensor {
    zip(lhs, rhs, operation: ".<=") { $0 <= $1 ? 1 : 0 }
  }
  /// 1 where `lhs > rhs`, else 0. The operands broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .> (lhs: Tensor, rhs: Tensor) -> Tensor {
    zip(lhs, rhs, operation: ".>") { $0 > $1 ? 1 : 0 }
  }
  /// 1 where `lhs >= rhs`, else 0. The operands broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .>= (lhs: Tensor, rhs: Tensor) -> Tensor {
    zip(lhs, rhs, operation: ".>=") { $0 >= $1 ? 1 : 0 }
  }
  /// 1 where `lhs == rhs`, else 0. The operands broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .== (lhs: Tensor, rhs: Tensor) -> Tensor {
    zip(lhs, rhs, operation: ".==") { $0 == $1 ? 1 : 0 }
  }
  /// 1 where `lhs != rhs`, else 0. The operands broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .!= (lhs: Tensor, rhs: Tensor) -> Tensor {
    zip(lhs, rhs, operation: ".!=") { $0 != $1 ? 1 : 0 }
  }

  /// 1 where `lhs < rhs`, else 0.
  public static func .< (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .< Tensor(rhs) }
  /// 1 where `lhs <= rhs`, else 0.
  public static func .<= (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .<= Tensor(rhs) }
  /// 1 where `lhs > rhs`, else 0.
  public static func .> (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .> Tensor(rhs) }
  /// 1 where `lhs >= rhs`, else 0.
  public static func .>= (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .>= Tensor(rhs) }
  /// 1 where `lhs == rhs`, else 0.
  public static func .== (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .== Tensor(rhs) }
  /// 1 where `lhs != rhs`, else 0.
  public static func .!= (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .!= Tensor(rhs) }
}

/// `a` where `condition` is not zero and `b` elsewhere (`torch.where(condition != 0, a, b)`);
/// the three broadcast together.
///
/// - Parameters:
///   - condition: A mask, typically from a comparison such as `x .> 0`.
///   - a: Chosen where the condition holds.
///   - b: Chosen elsewhere.
/// - Precondition: the three shapes broadcast.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func select<Scalar>(_ condition: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<
  Scalar
> {
  let shape = Tensor<Scalar>.broadcastShape(
    Tensor<Scalar>.broadcastShape(condition.shape, a.shape, operation: "select"), b.shape, operation: "select"
  )
  let mask = condition.broadcasted(to: shape)
  return Tensor.zip(mask, a.broadcasted(to: shape)) { $0 != 0 ? $1 : 0 }
    + Tensor.zip(mask, b.broadcasted(to: shape)) { $0 != 0 ? 0 : $1 }
}
