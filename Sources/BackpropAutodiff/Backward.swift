import BackpropTensor

extension Variable {
  /// Back-propagates from this one-element variable: walks the tape in reverse and adds
  /// d(self)/d(leaf) to ``grad`` of every leaf with `requiresGrad`.
  ///
  /// Gradients accumulate: across fan-out (a variable used twice receives both contributions)
  /// and across calls. Calling `backward()` twice on the same graph adds the gradient twice —
  /// the graph is kept, as with PyTorch's `retain_graph=True`. Call ``zeroGrad()`` (or an
  /// optimiser's `zeroGrad()`) between steps.
  ///
  /// - Parameter createGraph: record the backward pass itself, so that gradients can be
  ///   differentiated again (see ``gradients(of:withRespectTo:seed:createGraph:)``).
  /// - Precondition: the variable holds exactly one scalar. For other shapes reduce with
  ///   ``sum()`` or ``mean()`` first, or call ``backward(seed:createGraph:)``. It requires a
  ///   gradient (``requiresGrad``): a result computed from constants alone stops the program, as
  ///   PyTorch raises, instead of silently doing nothing.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(createGraph: Bool = false) {
    check(
      value.scalarCount == 1,
      """
      backward(): the variable has shape \(value.shape) (\(value.scalarCount) scalars); \
      backward() needs a single scalar. Reduce it with sum() or mean(), or call backward(seed:) \
      with the upstream gradient.
      """)
    backward(seed: Tensor(repeating: 1, shape: value.shape), createGraph: createGraph)
  }

  /// Back-propagates the upstream gradient `seed` (d(loss)/d(self)) and accumulates into the
  /// ``grad`` of every leaf with `requiresGrad`.
  ///
  /// - Precondition: `seed.shape == shape`, and the variable requires a gradient.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(seed: Tensor<Scalar>, createGraph: Bool = false) {
    check(
      seed.shape == value.shape, "backward(seed:): seed shape \(seed.shape) ≠ variable shape \(value.shape)")
    check(
      requiresGrad,
      """
      backward(): the variable does not require a gradient: nothing it was computed from was \
      created with requiresGrad: true (or it was computed inside withoutGradients), so there is \
      nothing to differentiate
      """)
    if createGraph {
      accumulate(seed: Variable(seed))
    } else {
      accumulate(seed: seed)
    }
  }

  /// Runs the tape from this variable with `seed` and adds each parameter's gradient to `grad`.
  private func accumulate<G: GradientAlgebra<Scalar>>(seed: G) {
    _ = Tape.run(from: self, seed: seed, targets: []) { leaf, gradient in
      leaf.pointee.grad = leaf.pointee.grad.map { $0 + gradient.tensor } ?? gradient.tensor
      if leaf.pointee.hasGradientHook { runGradientHook(of: leaf) }
    }
  }
}

/// The gradients of `output` with respect to `variables`, without touching any ``Variable/grad``.
///
/// `variables` may be leaves or intermediate results of the graph; a variable that `output` does
/// not depend on gets a zero gradient.
///
/// - Parameters:
///   - output: The variable to differentiate. Without `seed` it must hold one scalar.
///   - variables: The variables to differentiate with respect to.
///   - seed: The upstream gradient d(loss)/d(output); defaults to ones for a one-element output.
///   - createGraph: `true` records the gradient computation, so the returned variables can be
///     differentiated again (gradients of gradients). `false` returns constants.
/// - Returns: One gradient per variable, each of that variable's shape.
public func gradients<Scalar>(
  of output: Variable<Scalar>, withRespectTo variables: [Variable<Scalar>], seed: Tensor<Scalar>? = nil,
  createGraph: Bool = false
) -> [Variable<Scalar>] {
  check(
    seed != nil || output.value.scalarCount == 1,
    """
    gradients(of:withRespectTo:): the output has shape \(output.shape); reduce it with sum() or \
    mean(), or pass seed:
    """)
  let seed = seed ?? Tensor(repeating: 1, shape: output.shape)
  check(
    seed.shape == output.shape, "gradients(of:): seed shape \(seed.shape) ≠ output shape \(output.shape)")
  return createGraph
    ? Tape.gradients(of: output, withRespectTo: variables, seed: Variable(seed))
    : Tape.gradients(of: output, withRespectTo: variables, seed: seed)
}
