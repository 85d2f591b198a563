import BackpropTensor

extension Variable {
  /// A function that ``backward(seed:createGraph:)`` calls with this parameter as soon as its
  /// gradient from the pass is final and added to ``grad``, while the pass goes on through the
  /// operations recorded before the parameter's first use (PyTorch's
  /// `register_post_accumulate_grad_hook`).
  ///
  /// Data-parallel training uses it to start averaging a bucket of gradients over the ranks while
  /// the backward pass computes the rest:
  ///
  /// ```swift
  /// weight.onGradientAccumulated = { parameter in print(parameter.grad!.shape) }
  /// loss.backward()   // prints the weight's gradient's shape once the pass has finished it
  /// ```
  ///
  /// The hook runs once per backward pass that reaches the parameter, in the pass's thread, and
  /// not for ``gradients(of:withRespectTo:seed:createGraph:)``, which leaves ``grad`` alone. It
  /// must not record operations on this backward pass's graph or change any variable's value.
  /// The parameter keeps the hook: a hook that captures the parameter strongly keeps it alive,
  /// so capture other objects weakly and use the argument. Set `nil` to remove it.
  ///
  /// - Precondition: the variable is a parameter, a leaf created with `requiresGrad: true`.
  public var onGradientAccumulated: ((Variable<Scalar>) -> Void)? {
    get {
      guard node.pointee.hasGradientHook, let hook = node.pointee.annotations?.gradientHook else {
        return nil
      }
      return unsafeDowncast(hook, to: GradientHook<Scalar>.self).body
    }
    set {
      check(
        node.pointee.isParameter,
        "onGradientAccumulated: \(name ?? "the variable") is not a parameter (a leaf created with "
          + "requiresGrad: true); only a parameter's gradient is accumulated")
      if node.pointee.annotations == nil {
        node.pointee.annotations = Annotations(name: nil, origin: nil, counter: nil)
      }
      node.pointee.annotations.unsafelyUnwrapped.gradientHook = newValue.map(GradientHook.init)
      node.pointee.hasGradientHook = newValue != nil
    }
  }
}

/// A gradient hook, kept in a node's ``Annotations`` (which are not generic).
final class GradientHook<Scalar: TensorScalar> {
  let body: (Variable<Scalar>) -> Void
  init(_ body: @escaping (Variable<Scalar>) -> Void) { self.body = body }
}

/// Calls the hook of `leaf`, a parameter whose gradient a backward pass has just added to its
/// `grad`.
@inline(never)
func runGradientHook<Scalar>(of leaf: NodePointer<Scalar>) {
  guard let hook = leaf.pointee.annotations?.gradientHook else { return }
  unsafeDowncast(hook, to: GradientHook<Scalar>.self).body(Variable.showing(leaf))
}
