import BackpropAutodiff
import BackpropTensor

// Reading the previous release's checkpoints (format version 1). Its files named a layer's
// tensors by the layer's own names of that release, not PyTorch's; the names that differ are
// listed here, once, so that no layer carries a second naming scheme. Every other tensor
// (Dense, Conv2D, Embedding, a custom layer's own) had the name it has now. A layer of your own
// keeps its names, but the built-in layers it holds had other names inside: they are found by
// reflection (its stored properties, and arrays of layers) and renamed within its names.

extension Checkpoint {
  /// The version-1 name of each of `model`'s tensors whose name has changed since, by variable.
  static func version1Names<Scalar: TensorScalar>(of model: any Layer<Scalar>) -> [ObjectIdentifier: String] {
    var names: [ObjectIdentifier: String] = [:]
    func visit(_ layer: any Layer<Scalar>, prefix: String) {
      func name(_ variable: Variable<Scalar>, _ old: String) {
        names[ObjectIdentifier(variable)] = prefix + old
      }
      func name(_ weights: RecurrentWeights<Scalar>) {
        name(weights.inputWeight, "inputWeight")
        name(weights.hiddenWeight, "hiddenWeight")
        name(weights.inputBias, "inputBias")
        name(weights.hiddenBias, "hiddenBias")
      }
      func recurse(_ sublayer: any Layer<Scalar>, _ old: String) {
        // A sublayer whose own tensors kept their names still moves under its old prefix.
        for tensor in sublayer.namedTensors { name(tensor.variable, old + "." + tensor.name) }
        visit(sublayer, prefix: prefix + old + ".")
      }
      switch layer {
      case let sequential as Sequential<Scalar>:
        for (index, sublayer) in sequential.layers.enumerated() { recurse(sublayer, "\(index)") }
      case let norm as LayerNorm<Scalar>:
        name(norm.weight, "scale")
        name(norm.bias, "offset")
      case let norm as BatchNorm<Scalar>:
        name(norm.weight, "scale")
        name(norm.bias, "offset")
        name(norm.runningMean, "runningMean")
        name(norm.runningVariance, "runningVariance")
        name(norm.batchesTracked, "batchesTracked")
      case let attention as MultiHeadAttention<Scalar>:
        name(attention.inputWeight, "inputWeight")
        name(attention.inputBias, "inputBias")
        name(attention.outputWeight, "outputWeight")
        name(attention.outputBias, "outputBias")
      case let lstm as LSTM<Scalar>:
        name(lstm.cell.weights)
      case let gru as GRU<Scalar>:
        name(gru.cell.weights)
      case let block as TransformerBlock<Scalar>:
        recurse(block.attention, "attention")
        recurse(block.attentionNorm, "attentionNorm")
        recurse(block.feedForwardNorm, "feedForwardNorm")
        recurse(block.feedForwardIn, "feedForwardIn")
        recurse(block.feedForwardOut, "feedForwardOut")
      default:
        // A layer of your own: its names stay; those of the built-in layers it holds change.
        var inner: [ObjectIdentifier: (new: String, old: String)] = [:]
        for sublayer in heldLayers(layer) {
          let old = version1Names(of: sublayer)
          for tensor in sublayer.namedTensors {
            if let oldName = old[ObjectIdentifier(tensor.variable)] {
              inner[ObjectIdentifier(tensor.variable)] = (tensor.name, oldName)
            }
          }
        }
        for tensor in layer.namedTensors {
          if let (new, old) = inner[ObjectIdentifier(tensor.variable)], tensor.name.hasSuffix(new) {
            name(tensor.variable, String(tensor.name.dropLast(new.count)) + old)
          }
        }
      }
    }
    // The top layer's own tensors had no prefix; a Sequential's are named by `recurse`.
    visit(model, prefix: "")
    return names
  }
}

extension Checkpoint {
  /// The layers a layer holds in its stored properties, directly or in arrays.
  static func heldLayers<Scalar: TensorScalar>(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>] {
    Mirror(reflecting: layer).children.flatMap { child -> [any Layer<Scalar>] in
      if let sublayer = child.value as? any Layer<Scalar> { return [sublayer] }
      if let sublayers = child.value as? [any Layer<Scalar>] { return sublayers }
      return []
    }
  }
}
