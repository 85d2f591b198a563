import BackpropAutodiff
import BackpropTensor

/// The parameters of a recurrent cell in PyTorch's layout: the gates' input and hidden weights
/// stacked along the first axis, and a bias for each.
public struct RecurrentWeights<Scalar: TensorScalar> {
  /// The gates' input weights stacked, `[gates·hiddenSize, inputSize]` (PyTorch's `weight_ih`).
  public let inputWeight: Variable<Scalar>
  /// The gates' hidden weights stacked, `[gates·hiddenSize, hiddenSize]` (`weight_hh`).
  public let hiddenWeight: Variable<Scalar>
  /// The input biases, `[gates·hiddenSize]` (`bias_ih`).
  public let inputBias: Variable<Scalar>
  /// The hidden biases, `[gates·hiddenSize]` (`bias_hh`).
  public let hiddenBias: Variable<Scalar>

  /// Weights and biases drawn from U(−1/√hiddenSize, 1/√hiddenSize), as PyTorch draws them.
  init<G: RandomNumberGenerator>(gates: Int, inputSize: Int, hiddenSize: Int, using generator: inout G) {
    let bound = 1 / Scalar(hiddenSize).squareRoot()
    func draw(_ shape: [Int], _ name: String) -> Variable<Scalar> {
      Variable(
        Tensor(randomUniform: shape, lowerBound: -bound, upperBound: bound, using: &generator),
        requiresGrad: true,
        name: name)
    }
    inputWeight = draw([gates * hiddenSize, inputSize], "weight_ih")
    hiddenWeight = draw([gates * hiddenSize, hiddenSize], "weight_hh")
    inputBias = draw([gates * hiddenSize], "bias_ih")
    hiddenBias = draw([gates * hiddenSize], "bias_hh")
  }

  var all: [Variable<Scalar>] { [inputWeight, hiddenWeight, inputBias, hiddenBias] }

  /// PyTorch's names, with `suffix` (`"_l0"` for `nn.LSTM` and `nn.GRU`, `""` for the cells).
  func namedTensors(suffix: String) -> [NamedTensor<Scalar>] {
    [
      NamedTensor("weight_ih" + suffix, inputWeight), NamedTensor("weight_hh" + suffix, hiddenWeight),
      NamedTensor("bias_ih" + suffix, inputBias), NamedTensor("bias_hh" + suffix, hiddenBias),
    ]
  }

  var inputSize: Int { inputWeight.shape[1] }
  var hiddenSize: Int { hiddenWeight.shape[1] }

  /// x·W_ihᵀ + b_ih for inputs `[…, inputSize]`, every gate at once.
  func inputProjection(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let shape = input.shape
    let rows = shape.dropLast().reduce(1, *)
    let projected = matmul(input.reshaped(to: [rows, inputSize]), inputWeight, transposeB: true) + inputBias
    return projected.reshaped(to: shape.dropLast() + [inputWeight.shape[0]])
  }

  /// h·W_hhᵀ + b_hh, every gate at once.
  func hiddenProjection(_ hidden: Variable<Scalar>) -> Variable<Scalar> {
    matmul(hidden, hiddenWeight, transposeB: true) + hiddenBias
  }

  /// Gate `index` of stacked gates `[N, gates·hiddenSize]`.
  func gate(_ stacked: Variable<Scalar>, _ index: Int) -> Variable<Scalar> {
    let size = hiddenSize
    return stacked.slice(
      lowerBounds: [0, index * size], upperBounds: [stacked.shape[0], (index + 1) * size])
  }

  func checkInput(_ input: Variable<Scalar>, rank: Int, _ layer: String) {
    let shape = input.shape
    check(
      shape.count == rank && shape[rank - 1] == inputSize,
      "\(layer) (\(inputSize) → \(hiddenSize)): input of shape \(shape); expected "
        + (rank == 2 ? "[batch, \(inputSize)]" : "[batch, time, \(inputSize)]"))
  }

  /// A cell run over a sequence `[batch, time, inputSize]` from `initialState` (or
  /// `zeroState(batch)`): every step's output stacked along axis 1, and the last state. The
  /// input projections of all steps are one product.
  func run<State>(
    _ input: Variable<Scalar>, _ layer: String, initialState: State?, zeroState: (_ batchSize: Int) -> State,
    step: (_ projectedInput: Variable<Scalar>, _ state: State) -> State,
    output: (State) -> Variable<Scalar>
  ) -> (outputs: Variable<Scalar>, finalState: State) {
    checkInput(input, rank: 3, layer)
    check(input.shape[1] > 0, "\(layer): a sequence needs at least one step, got shape \(input.shape)")
    let projected = inputProjection(input)
    var state = initialState ?? zeroState(input.shape[0])
    var outputs: [Variable<Scalar>] = []
    for t in 0..<input.shape[1] {
      state = step(projected.step(t), state)
      outputs.append(output(state))
    }
    return (stack(outputs, alongAxis: 1), state)
  }

  func checkState(_ state: Variable<Scalar>, batch: Int, _ layer: String) {
    check(
      state.shape == [batch, hiddenSize],
      "\(layer) (\(inputSize) → \(hiddenSize)): state of shape \(state.shape); expected [\(batch), \(hiddenSize)]"
    )
  }
}

/// One step of a long short-term memory (PyTorch's `nn.LSTMCell`, same gate order and layouts):
///
/// ```
/// i = σ(x·W_iiᵀ + b_ii + h·W_hiᵀ + b_hi)     input gate
/// f = σ(x·W_ifᵀ + b_if + h·W_hfᵀ + b_hf)     forget gate
/// g = tanh(x·W_igᵀ + b_ig + h·W_hgᵀ + b_hg)  candidate
/// o = σ(x·W_ioᵀ + b_io + h·W_hoᵀ + b_ho)     output gate
/// c′ = f ⊙ c + i ⊙ g,   h′ = o ⊙ tanh(c′)
/// ```
///
/// ``RecurrentWeights/inputWeight`` stacks W_ii, W_if, W_ig, W_io (PyTorch's `weight_ih`,
/// `[4·hiddenSize, inputSize]`), ``RecurrentWeights/hiddenWeight`` the W_h· (`weight_hh`), and
/// the biases likewise (`bias_ih`, `bias_hh`). Gradients come from the tape.
public final class LSTMCell<Scalar: TensorScalar> {
  /// The hidden state h and the cell state c, each `[batch, hiddenSize]`.
  public struct State {
    /// h, the output of the step.
    public var hidden: Variable<Scalar>
    /// c, the memory.
    public var cell: Variable<Scalar>

    /// - Parameters:
    ///   - hidden: h, `[batch, hiddenSize]`.
    ///   - cell: c, `[batch, hiddenSize]`.
    public init(hidden: Variable<Scalar>, cell: Variable<Scalar>) {
      self.hidden = hidden
      self.cell = cell
    }
  }

  /// The four gates' weights and biases, in PyTorch's layout.
  public let weights: RecurrentWeights<Scalar>

  /// - Parameters:
  ///   - inputSize: Features in.
  ///   - hiddenSize: The size of h and c.
  ///   - generator: The random source; weights are drawn from U(−1/√hiddenSize, 1/√hiddenSize).
  public init<G: RandomNumberGenerator>(inputSize: Int, hiddenSize: Int, using generator: inout G) {
    weights = RecurrentWeights(gates: 4, inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(inputSize: Int, hiddenSize: Int) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// Zeros for a batch of `batchSize`.
  public func zeroState(batchSize: Int) -> State {
    let zeros = Tensor<Scalar>(zeros: [batchSize, weights.hiddenSize])
    return State(hidden: Variable(zeros), cell: Variable(zeros))
  }

  /// One step: the new state for input `[batch, inputSize]`.
  ///
  /// - Precondition: The input is `[batch, inputSize]` and the state `[batch, hiddenSize]`.
  public func callAsFunction(_ input: Variable<Scalar>, state: State) -> State {
    weights.checkInput(input, rank: 2, "LSTMCell")
    return step(projectedInput: weights.inputProjection(input), state: state)
  }

  /// A step from the input already multiplied by W_ihᵀ (plus b_ih).
  func step(projectedInput: Variable<Scalar>, state: State) -> State {
    weights.checkState(state.hidden, batch: projectedInput.shape[0], "LSTMCell")
    weights.checkState(state.cell, batch: projectedInput.shape[0], "LSTMCell")
    let gates = projectedInput + weights.hiddenProjection(state.hidden)
    let i = sigmoid(weights.gate(gates, 0))
    let f = sigmoid(weights.gate(gates, 1))
    let g = tanh(weights.gate(gates, 2))
    let o = sigmoid(weights.gate(gates, 3))
    let cell = f * state.cell + i * g
    return State(hidden: o * tanh(cell), cell: cell)
  }

  /// The weights and biases.
  public var parameters: [Variable<Scalar>] { weights.all }
}

/// One step of a gated recurrent unit (PyTorch's `nn.GRUCell`, same gate order and layouts):
///
/// ```
/// r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr)          reset gate
/// z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz)          update gate
/// n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn))  candidate
/// h′ = (1 − z) ⊙ n + z ⊙ h
/// ```
///
/// ``RecurrentWeights/inputWeight`` stacks W_ir, W_iz, W_in (PyTorch's `weight_ih`,
/// `[3·hiddenSize, inputSize]`), and so on as for ``LSTMCell``.
public final class GRUCell<Scalar: TensorScalar> {
  /// The three gates' weights and biases, in PyTorch's layout.
  public let weights: RecurrentWeights<Scalar>

  /// - Parameters:
  ///   - inputSize: Features in.
  ///   - hiddenSize: The size of h.
  ///   - generator: The random source; weights are drawn from U(−1/√hiddenSize, 1/√hiddenSize).
  public init<G: RandomNumberGenerator>(inputSize: Int, hiddenSize: Int, using generator: inout G) {
    weights = RecurrentWeights(gates: 3, inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(inputSize: Int, hiddenSize: Int) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// Zeros for a batch of `batchSize`.
  public func zeroState(batchSize: Int) -> Variable<Scalar> {
    Variable(Tensor(zeros: [batchSize, weights.hiddenSize]))
  }

  /// One step: the new hidden state for input `[batch, inputSize]`.
  ///
  /// - Precondition: The input is `[batch, inputSize]` and the state `[batch, hiddenSize]`.
  public func callAsFunction(_ input: Variable<Scalar>, state: Variable<Scalar>) -> Variable<Scalar> {
    weights.checkInput(input, rank: 2, "GRUCell")
    return step(projectedInput: weights.inputProjection(input), state: state)
  }

  func step(projectedInput: Variable<Scalar>, state: Variable<Scalar>) -> Variable<Scalar> {
    weights.checkState(state, batch: projectedInput.shape[0], "GRUCell")
    let hidden = weights.hiddenProjection(state)
    let r = sigmoid(weights.gate(projectedInput, 0) + weights.gate(hidden, 0))
    let z = sigmoid(weights.gate(projectedInput, 1) + weights.gate(hidden, 1))
    let n = tanh(weights.gate(projectedInput, 2) + r * weights.gate(hidden, 2))
    return (1 - z) * n + z * state
  }

  /// The weights and biases.
  public var parameters: [Variable<Scalar>] { weights.all }
}

/// An ``LSTMCell`` run over a sequence `[batch, time, inputSize]` (PyTorch's one-layer
/// `nn.LSTM(batch_first=True)`): every step's hidden state, `[batch, time, hiddenSize]`, and
/// the last state.
///
/// The input projections of all steps are one matrix product; each step then adds h·W_hhᵀ.
/// Its state-dictionary keys are `nn.LSTM`'s: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`.
public final class LSTM<Scalar: TensorScalar>: Layer {
  /// The cell applied at every step.
  public let cell: LSTMCell<Scalar>

  /// - Parameters:
  ///   - inputSize: Features in per step.
  ///   - hiddenSize: The size of h and c.
  ///   - generator: The random source.
  public init<G: RandomNumberGenerator>(inputSize: Int, hiddenSize: Int, using generator: inout G) {
    cell = LSTMCell(inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(inputSize: Int, hiddenSize: Int) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// Every step's hidden state, `[batch, time, hiddenSize]`, from a zero state.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    self(input, initialState: nil).outputs
  }

  /// Every step's hidden state, `[batch, time, hiddenSize]`, and the state after the last step.
  ///
  /// - Parameters:
  ///   - input: `[batch, time, inputSize]`, with time ≥ 1.
  ///   - initialState: The state before the first step; zeros when `nil`.
  public func callAsFunction(_ input: Variable<Scalar>, initialState: LSTMCell<Scalar>.State?)
    -> (outputs: Variable<Scalar>, finalState: LSTMCell<Scalar>.State)
  {
    cell.weights.run(
      input, "LSTM", initialState: initialState, zeroState: cell.zeroState, step: cell.step, output: \.hidden)
  }

  /// The cell's weights and biases.
  public var parameters: [Variable<Scalar>] { cell.parameters }
  /// `nn.LSTM`'s: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`.
  public var namedTensors: [NamedTensor<Scalar>] { cell.weights.namedTensors(suffix: "_l0") }
}

/// A ``GRUCell`` run over a sequence `[batch, time, inputSize]` (PyTorch's one-layer
/// `nn.GRU(batch_first=True)`): every step's hidden state and the last one. Its
/// state-dictionary keys are `nn.GRU`'s (`weight_ih_l0`, …).
public final class GRU<Scalar: TensorScalar>: Layer {
  /// The cell applied at every step.
  public let cell: GRUCell<Scalar>

  /// - Parameters:
  ///   - inputSize: Features in per step.
  ///   - hiddenSize: The size of h.
  ///   - generator: The random source.
  public init<G: RandomNumberGenerator>(inputSize: Int, hiddenSize: Int, using generator: inout G) {
    cell = GRUCell(inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// The same, with weights drawn from a generator seeded by the system's random source (not
  /// reproducible; pass `using:` a seeded generator for that).
  public convenience init(inputSize: Int, hiddenSize: Int) {
    var generator = SeededRandomNumberGenerator(seed: .random(in: .min ... .max))
    self.init(inputSize: inputSize, hiddenSize: hiddenSize, using: &generator)
  }

  /// Every step's hidden state, `[batch, time, hiddenSize]`, from a zero state.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    self(input, initialState: nil).outputs
  }

  /// Every step's hidden state, `[batch, time, hiddenSize]`, and the last one.
  ///
  /// - Parameters:
  ///   - input: `[batch, time, inputSize]`, with time ≥ 1.
  ///   - initialState: h before the first step; zeros when `nil`.
  public func callAsFunction(_ input: Variable<Scalar>, initialState: Variable<Scalar>?)
    -> (outputs: Variable<Scalar>, finalState: Variable<Scalar>)
  {
    cell.weights.run(
      input, "GRU", initialState: initialState, zeroState: cell.zeroState, step: cell.step, output: \.self)
  }

  /// The cell's weights and biases.
  public var parameters: [Variable<Scalar>] { cell.parameters }
  /// `nn.GRU`'s: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`.
  public var namedTensors: [NamedTensor<Scalar>] { cell.weights.namedTensors(suffix: "_l0") }
}

extension Variable {
  /// Step `t` of a sequence `[batch, time, features]`: `[batch, features]`.
  func step(_ t: Int) -> Variable {
    let shape = self.shape
    return slice(lowerBounds: [0, t, 0], upperBounds: [shape[0], t + 1, shape[2]]).reshaped(to: [
      shape[0], shape[2],
    ])
  }
}
