import BackpropTensor

extension Variable {
  /// Records `operation` applied to `inputs`, whose forward result is `value`, and returns the
  /// result: a variable that gradients flow back through. When no input requires a gradient, or
  /// inside ``withoutGradients(_:)``, it returns a constant holding `value` instead, so constant
  /// sub-expressions cost no graph.
  ///
  /// This is how every operation, built in or your own, puts itself on the tape; compute `value`
  /// with tensor functions first (see ``DifferentiableOperation``).
  ///
  /// Generic over the operation, so that each operation's call site gets its own specialisation,
  /// in which the first-order pullback closure (``TensorPullback``) is formed.
  ///
  /// - Parameters:
  ///   - operation: The operation, with its constant parameters.
  ///   - inputs: Its inputs, in the order its pullback reads them: `Operands(x)`, `Operands(x, y)`
  ///     or `Operands([x, y, z])`.
  ///   - value: The forward result.
  public static func record<Operation: DifferentiableOperation>(
    _ operation: Operation, _ inputs: consuming Operands<Variable>, value: consuming Tensor<Scalar>
  ) -> Variable where Operation.Scalar == Scalar {
    let mode = GradientMode.current
    let origin = mode.detectsAnomalies ? checkedOrigin(of: operation.name, value: value) : nil
    // One pass over the inputs, read unmanaged: whether any requires a gradient, and the sum of
    // their versions. A closure, not the key path `\.requiresGrad`: in generic code a key path is
    // instantiated at run time on every call.
    var requiresGrad = false
    var inputVersions: UInt32 = 0
    inputs.forEachUnmanaged(reversed: false) { input in
      input._withUnsafeGuaranteedRef { input in
        requiresGrad = requiresGrad || input.requiresGrad
        inputVersions &+= input.version
      }
    }
    guard mode.isRecording, requiresGrad else {
      return Variable(value: consume value, isParameter: false, counter: mode.counter)
    }
    return Variable(
      value: consume value, operation: operation, tensorPullback: operation._tensorPullback,
      inputs: consume inputs, inputVersions: inputVersions, origin: origin, counter: mode.counter)
  }
}

/// Where an operation is being recorded, in anomaly-detection mode; stops with an anomaly report
/// if its forward value is not finite.
///
/// Out of line: `Backtrace` is resilient, and a caller that holds one on its stack looks up its
/// metadata (and that of its parts) on every call, whether it captures a backtrace or not — about
/// a twentieth of recording an operation.
@inline(never)
func checkedOrigin<Scalar>(of name: String, value: Tensor<Scalar>) -> OperationOrigin? {
  let origin = OperationOrigin.capture()
  if !value.isFinite {
    anomaly("forward of \(name) produced a non-finite value, shape \(value.shape)", origin)
  }
  return origin
}
