import BackpropTensor

/// C = op(A)·op(B), where op transposes an operand when asked.
///
/// For C = A·B with upstream G = ∂L/∂C: ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G. The transposed variants
/// follow by transposing those identities, and are computed with transposed-operand products so
/// that no transpose is ever materialised:
///
/// | forward | ∂L/∂A | ∂L/∂B |
/// |---|---|---|
/// | A·B   | G·Bᵀ   | Aᵀ·G |
/// | A·Bᵀ  | G·B    | Gᵀ·A |
/// | Aᵀ·B  | B·Gᵀ   | A·G  |
/// | Aᵀ·Bᵀ | Bᵀ·Gᵀ  | Gᵀ·Aᵀ |
struct MatrixProduct<Scalar: TensorScalar>: DifferentiableOperation {
  let transposeA: Bool
  let transposeB: Bool
  var name: String { "matmul" }
  var label: String {
    transposeA || transposeB ? "matmul (\(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B"))" : "matmul"
  }

  /// C[i, j] = Σₗ op(A)[i, l]·op(B)[l, j], so ∂C[i, j]/∂op(A)[i, l] = op(B)[l, j] and
  /// ∂C[i, j]/∂op(B)[l, j] = op(A)[i, l].
  func derivativeFormula(_ t: DerivativeTerm) -> String? {
    // Matrices only; a batched product's trace shows the derivative's symbol and its number.
    guard t.outputIndex.count == 2 && t.inputIndex.count == 2 else { return nil }
    let (i, j) = (t.outputIndex[0], t.outputIndex[1])
    if t.input == 0 {
      let l = transposeA ? t.inputIndex[0] : t.inputIndex[1]
      return t.operand(1, at: transposeB ? [j, l] : [l, j])
    }
    let l = transposeB ? t.inputIndex[1] : t.inputIndex[0]
    return t.operand(0, at: transposeA ? [l, i] : [i, l])
  }

  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    // For C = op(A)·op(B): ∂L/∂op(A) = G·op(B)ᵀ and ∂L/∂op(B) = op(A)ᵀ·G. A transposed operand
    // gets the transpose of its gradient: ∂L/∂A = (G·op(B)ᵀ)ᵀ = op(B)·Gᵀ, ∂L/∂B = Gᵀ·op(A).
    let (a, b) = (inputs[0], inputs[1])
    let da =
      !needed[0]
      ? nil
      : transposeA
        ? G.matrixProduct(b, g, transposeA: transposeB, transposeB: true, shapedLike: a)
        : G.matrixProduct(g, b, transposeA: false, transposeB: !transposeB, shapedLike: a)
    let db =
      !needed[1]
      ? nil
      : transposeB
        ? G.matrixProduct(g, a, transposeA: true, transposeB: transposeA, shapedLike: b)
        : G.matrixProduct(a, g, transposeA: !transposeA, transposeB: false, shapedLike: b)
    return Operands(da, db)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    let (a, b) = (inputs[0], inputs[1])
    return tangentSum(
      t[0].map { G.matrixProduct($0, b, transposeA: transposeA, transposeB: transposeB, shapedLike: output) },
      t[1].map { G.matrixProduct(a, $0, transposeA: transposeA, transposeB: transposeB, shapedLike: output) })
  }

  /// One closure without a context for each pair of transposes. Capturing the two flags cost a
  /// heap context for every recorded product.
  var _tensorPullback: TensorPullback<Scalar> {
    switch (transposeA, transposeB) {
    case (false, false):
      { Self(transposeA: false, transposeB: false).pullback($0, inputs: $1, output: $2, needed: $3) }
    case (false, true):
      { Self(transposeA: false, transposeB: true).pullback($0, inputs: $1, output: $2, needed: $3) }
    case (true, false):
      { Self(transposeA: true, transposeB: false).pullback($0, inputs: $1, output: $2, needed: $3) }
    case (true, true):
      { Self(transposeA: true, transposeB: true).pullback($0, inputs: $1, output: $2, needed: $3) }
    }
  }
}

/// The matrix product: `[m, k] · [k, n] → [m, n]` for matrices; for operands of higher rank the
/// last two axes multiply and the leading (batch) axes broadcast, as `torch.matmul` does
/// (`[B, m, k] · [k, n] → [B, m, n]`).
///
/// Gradient: for C = A·B and upstream G, ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G, per batch item; an
/// operand whose batch axes were broadcast gets the sum over them.
///
/// - Parameters:
///   - a: The left operand, `[…, m, k]` (or `[…, k, m]` with `transposeA`).
///   - b: The right operand, `[…, k, n]` (or `[…, n, k]` with `transposeB`).
///   - transposeA: Use the last two axes of `a` transposed, without materialising the transpose.
///   - transposeB: Use the last two axes of `b` transposed, without materialising the transpose.
/// - Precondition: both operands have rank ≥ 2, their inner dimensions agree, and their batch
///   axes broadcast.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func matmul<Scalar>(
  _ a: Variable<Scalar>, _ b: Variable<Scalar>, transposeA: Bool = false, transposeB: Bool = false
) -> Variable<Scalar> {
  Variable.record(
    MatrixProduct(transposeA: transposeA, transposeB: transposeB), a, b,
    value: matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB))
}
