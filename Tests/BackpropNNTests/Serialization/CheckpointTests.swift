import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropNN

/// A safetensors file spelled out field by field and written independently of the library's
/// encoder, so that tests can build exactly the malformed files they want.
struct RawSafeTensors {
  struct Entry {
    var name: String
    var dtype: String
    var shape: [Int]
    var offsets: [Int]
  }

  var entries: [Entry] = []
  var metadata: [(key: String, value: String)] = []
  var data: [UInt8] = []
  /// Replaces the header length; nil: the real length.
  var headerLength: UInt64?
  /// Text appended inside the header after the last member (e.g. `, "x": 1`).
  var extraMembers = ""

  init() {}

  /// Reads a valid file back into fields.
  init(_ bytes: [UInt8]) throws {
    let file = try SafeTensors(bytes: bytes)
    entries = file.entries.map {
      Entry(
        name: $0.name, dtype: $0.dtype, shape: $0.shape,
        offsets: [$0.byteRange.lowerBound, $0.byteRange.upperBound])
    }
    metadata = file.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    data = Array(bytes[file.dataStart...])
  }

  static func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      + "\""
  }

  var header: String {
    var members: [String] = []
    if !metadata.isEmpty {
      members.append(
        "\"__metadata__\":{"
          + metadata.map { Self.quoted($0.key) + ":" + Self.quoted($0.value) }.joined(separator: ",")
          + "}")
    }
    for entry in entries {
      members.append(
        Self.quoted(entry.name) + ":{\"dtype\":" + Self.quoted(entry.dtype) + ",\"shape\":\(entry.shape),"
          + "\"data_offsets\":\(entry.offsets)}")
    }
    return "{" + members.joined(separator: ",") + extraMembers + "}"
  }

  var bytes: [UInt8] {
    let header = Array(self.header.utf8)
    var bytes: [UInt8] = []
    let length = headerLength ?? UInt64(header.count)
    for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * index))) }
    return bytes + header + data
  }

  /// Sets the metadata's "crc32" to the data's CRC-32, as a checkpoint needs.
  mutating func updateChecksum() {
    let digits = String(CRC32.checksum(data[...]), radix: 16)
    let text = String(repeating: "0", count: 8 - digits.count) + digits
    metadata.removeAll { $0.key == "crc32" }
    metadata.append(("crc32", text))
  }
}

/// Bit patterns of every parameter and every optimiser tensor, to compare states exactly (NaN
/// payloads and −0 included).
func fingerprint<Scalar: TensorScalar>(
  _ model: some Layer<Scalar>, _ optimizer: (any Optimizer<Scalar>)?
) -> [[UInt64]] {
  func bits(_ tensor: Tensor<Scalar>) -> [UInt64] {
    tensor.scalars.map {
      UInt64($0.exponentBitPattern) << 53 ^ UInt64($0.significandBitPattern) << 1
        ^ ($0.sign == .minus ? 1 : 0)
    }
  }
  var result = (model.parameters + model.namedBuffers.map(\.variable)).map { bits($0.value) }
  if let state = optimizer?.state {
    for slot in state.slots.keys.sorted() {
      for tensor in state.slots[slot] ?? [] {
        result.append(bits(tensor))
      }
    }
    result.append(state.counters.sorted { $0.key < $1.key }.map { UInt64($0.value) })
  }
  return result
}

@Suite("Checkpoints")
struct CheckpointTests {
  static func model<Scalar: TensorScalar>(
    _: Scalar.Type, seed: UInt64, sizes: [Int] = [2, 3, 1]
  ) -> Sequential<Scalar> {
    var rng = SeededRandomNumberGenerator(seed: seed)
    return Sequential {
      for index in 0..<(sizes.count - 1) {
        Dense<Scalar>(
          inputSize: sizes[index], outputSize: sizes[index + 1],
          activation: index + 2 < sizes.count ? .tanh : .identity, using: &rng)
      }
    }
  }

  /// `steps` training steps of a small regression with the given optimiser.
  static func train<Scalar: TensorScalar>(
    _ model: Sequential<Scalar>, _ optimizer: some Optimizer<Scalar>, steps: Int
  ) {
    let x = Variable(Tensor<Scalar>([[0, 0], [0, 1], [1, 0], [1, 1]]))
    let y: Tensor<Scalar> = [[0], [1], [1], [0]]
    for _ in 0..<steps {
      optimizer.zeroGrad()
      meanSquaredError(predicted: model(x), target: y).backward()
      optimizer.step()
    }
  }

  @Test("A checkpoint is a safetensors file with the documented names and metadata")
  func documentedLayout() throws {
    let model = Self.model(Double.self, seed: 1)
    let adam = Adam(parameters: model.parameters, learningRate: 0.01)
    Self.train(model, adam, steps: 2)
    let bytes = Checkpoint.encode(model, optimizer: adam)
    let file = try SafeTensors(bytes: bytes)
    #expect(file.metadata["format"] == "backprop.checkpoint" && file.metadata["version"] == "2")
    #expect(file.metadata["optimizer"] == "Adam" && file.metadata["counter.stepCount"] == "2")
    #expect(file.metadata["crc32"] == hexadecimal(CRC32.checksum(bytes[file.dataStart...])))
    #expect(
      Set(file.entries.map(\.name)) == [
        "0.weight", "0.bias", "1.weight", "1.bias",
        "optimizer/firstMoment/0.weight", "optimizer/firstMoment/0.bias",
        "optimizer/firstMoment/1.weight", "optimizer/firstMoment/1.bias",
        "optimizer/secondMoment/0.weight", "optimizer/secondMoment/0.bias",
        "optimizer/secondMoment/1.weight", "optimizer/secondMoment/1.bias",
      ])
    // A Dense weight is stored as nn.Linear's, transposed: the checkpoint is a state dictionary.
    #expect(file.entry(named: "0.weight")?.shape == [3, 2] && file.entry(named: "0.weight")?.dtype == "F64")
    #expect(try file.tensor(named: "0.weight", as: Double.self) == model.parameters[0].value.transposed())
    #expect(
      try file.tensor(named: "optimizer/firstMoment/0.weight", as: Double.self)
        == adam.state.slots["firstMoment"]![0].transposed())
    // CRC-32 is zlib's: crc32(b"123456789") == 0xCBF43926.
    #expect(CRC32.checksum(Array("123456789".utf8)[...]) == 0xCBF4_3926)
  }

  @Test("Random models round-trip bit for bit", arguments: 0..<6)
  func roundTrip(seed: UInt64) throws {
    try Self.roundTrip(Float.self, seed: seed)
    try Self.roundTrip(Double.self, seed: seed)
  }

  static func roundTrip<Scalar: TensorScalar>(_: Scalar.Type, seed: UInt64) throws {
    var rng = SeededRandomNumberGenerator(seed: seed)
    let sizes = (0..<Int.random(in: 2...5, using: &rng)).map { _ in Int.random(in: 1...9, using: &rng) }
    let source = model(Scalar.self, seed: seed, sizes: sizes)
    // Values a careless format would lose: −0, infinities, NaN payloads, subnormals, extremes.
    let special: [Scalar] = [
      -0.0, .infinity, -.infinity, .nan,
      Scalar(
        sign: .minus, exponentBitPattern: Scalar.nan.exponentBitPattern,
        significandBitPattern: Scalar.nan.significandBitPattern | 0x15), .leastNonzeroMagnitude,
      .greatestFiniteMagnitude, -.leastNormalMagnitude, .ulpOfOne,
    ]
    for (index, value) in special.enumerated() {
      let weight = source.parameters[0]
      weight.value.scalars[index % weight.value.scalarCount] = value
    }
    let target = model(Scalar.self, seed: seed + 100, sizes: sizes)
    #expect(fingerprint(source, nil) != fingerprint(target, nil))

    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("model.safetensors")
    try Checkpoint.save(source, to: path)
    try Checkpoint.load(from: path, into: target)
    #expect(fingerprint(source, nil) == fingerprint(target, nil))
    #expect(scratch.contents == ["model.safetensors"])  // no temporary file left behind
  }

  @Test("Resume: 10 steps, save, load into a fresh model and optimiser, 10 steps == 20 steps")
  func resume() throws {
    try Self.resume(Float.self) { SGD(parameters: $0, learningRate: 0.1) }
    try Self.resume(Double.self) { SGD(parameters: $0, learningRate: 0.1) }
    try Self.resume(Float.self) { Momentum(parameters: $0, learningRate: 0.05, momentum: 0.9) }
    try Self.resume(Double.self) { Momentum(parameters: $0, learningRate: 0.05, momentum: 0.9) }
    try Self.resume(Float.self) { Adam(parameters: $0, learningRate: 0.01) }
    try Self.resume(Double.self) { Adam(parameters: $0, learningRate: 0.01) }
  }

  static func resume<Scalar: TensorScalar, O: Optimizer<Scalar>>(
    _: Scalar.Type, makeOptimizer: ([Variable<Scalar>]) -> O
  ) throws {
    let uninterrupted = model(Scalar.self, seed: 7)
    let reference = makeOptimizer(uninterrupted.parameters)
    train(uninterrupted, reference, steps: 20)

    let first = model(Scalar.self, seed: 7)
    let firstOptimizer = makeOptimizer(first.parameters)
    train(first, firstOptimizer, steps: 10)
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    try Checkpoint.save(first, optimizer: firstOptimizer, to: scratch.file("run.safetensors"))

    let resumed = model(Scalar.self, seed: 99)  // different weights, overwritten by the load
    let resumedOptimizer = makeOptimizer(resumed.parameters)
    try Checkpoint.load(from: scratch.file("run.safetensors"), into: resumed, optimizer: resumedOptimizer)
    #expect(fingerprint(resumed, resumedOptimizer) == fingerprint(first, firstOptimizer))
    train(resumed, resumedOptimizer, steps: 10)
    #expect(fingerprint(resumed, resumedOptimizer) == fingerprint(uninterrupted, reference))
  }

  /// Malformed variants of one valid checkpoint (a 2-3-1 model with Adam state), each with a
  /// label saying what was broken.
  static func malformedCorpus(from valid: [UInt8]) throws -> [(label: String, bytes: [UInt8])] {
    var corpus: [(String, [UInt8])] = []
    /// A variant with the checksum made to match its data, so that the other checks are reached.
    func variant(_ label: String, checksum: Bool = true, _ change: (inout RawSafeTensors) -> Void) throws {
      var raw = try RawSafeTensors(valid)
      change(&raw)
      if checksum { raw.updateChecksum() }
      corpus.append((label, raw.bytes))
    }

    // Truncated at every byte.
    for length in 0..<valid.count {
      corpus.append(("truncated to \(length) bytes", Array(valid[0..<length])))
    }
    // One flipped bit in every byte (the bit cycles through 0...7).
    for index in valid.indices {
      var bytes = valid
      bytes[index] ^= 1 << UInt8(index % 8)
      corpus.append(("bit \(index % 8) of byte \(index) flipped", bytes))
    }
    corpus.append(("one trailing byte", valid + [0]))
    corpus.append(("a trailing copy", valid + valid))
    try variant("trailing data bytes under a valid checksum") { $0.data += [1, 2, 3, 4] }

    // The safetensors structure.
    for length in [0, 1, 7, UInt64(100_000_001), UInt64.max] {
      try variant("header length \(length)") { $0.headerLength = length }
    }
    try variant("an unknown field") {
      $0.extraMembers = ",\"x\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8],\"y\":1}"
    }
    try variant("a member that is not an object") { $0.extraMembers = ",\"x\":[1]" }
    try variant("trailing comma") { $0.extraMembers = "," }
    try variant("unknown dtype") { $0.entries[0].dtype = "F128" }
    try variant("integer dtype") {
      $0.entries[0].dtype = "I64"
    }
    for dimension in [4, 1 << 20, Int.max] {
      try variant("dimension \(dimension)") { $0.entries[0].shape[0] = dimension }
    }
    try variant("dimensions that overflow when multiplied") { $0.entries[0].shape = [1 << 33, 1 << 33] }
    try variant("offsets reversed") { $0.entries[1].offsets.reverse() }
    try variant("three offsets") { $0.entries[1].offsets.append(0) }
    try variant("end offset too large") { $0.entries[1].offsets[1] += 8 }
    try variant("two entries overlap") {
      let length = $0.entries[1].offsets[1] - $0.entries[1].offsets[0]
      $0.entries[1].offsets = [$0.entries[0].offsets[0], $0.entries[0].offsets[0] + length]
    }
    try variant("a gap between entries") {
      for index in $0.entries.indices where $0.entries[index].offsets[0] > 0 {
        $0.entries[index].offsets = $0.entries[index].offsets.map { $0 + 8 }
      }
      $0.data += Array(repeating: 0, count: 8)
    }
    try variant("metadata value not a string") { $0.extraMembers = ",\"__metadata__\":{\"a\":1}" }

    // The checkpoint's conventions.
    try variant("wrong checksum", checksum: false) { $0.metadata[0].value = "deadbeef" }
    try variant("damaged data under the old checksum", checksum: false) { $0.data[3] ^= 0x10 }
    try variant("no format") { $0.metadata.removeAll { $0.key == "format" } }
    try variant("another format") {
      $0.metadata = $0.metadata.map { ($0.key, $0.key == "format" ? "pt" : $0.value) }
    }
    try variant("version 3") {
      $0.metadata = $0.metadata.map { ($0.key, $0.key == "version" ? "3" : $0.value) }
    }
    try variant("version 1 (the layouts differ)") {
      $0.metadata = $0.metadata.map { ($0.key, $0.key == "version" ? "1" : $0.value) }
    }

    // Names, types and shapes against the model and the optimiser.
    try variant("an entry renamed") { $0.entries[0].name = "0.weights" }
    try variant("a model entry missing") { $0.entries.removeAll { $0.name == "1.bias" } }
    try variant("an extra entry") {
      $0.entries.append(
        .init(name: "2.weight", dtype: "F64", shape: [1], offsets: [$0.data.count, $0.data.count + 8]))
      $0.data += Array(repeating: 0, count: 8)
    }
    try variant("a duplicated name") { $0.entries[1].name = $0.entries[0].name }
    try variant("a wrong shape with the same element count") {
      let index = $0.entries.firstIndex { $0.name == "0.weight" }!
      $0.entries[index].shape.reverse()
    }
    try variant("a wrong rank") {
      let index = $0.entries.firstIndex { $0.name == "0.bias" }!
      $0.entries[index].shape = [1, 3]
    }
    try variant("F32 data where the model is Double") {
      let index = $0.entries.firstIndex { $0.name == "1.bias" }!
      $0.entries[index].dtype = "F32"
      $0.entries[index].shape = [2]
    }
    try variant("optimiser kind Momentum") {
      $0.metadata = $0.metadata.map { ($0.key, $0.key == "optimizer" ? "Momentum" : $0.value) }
    }
    try variant("no optimiser state") {
      $0.metadata.removeAll { $0.key == "optimizer" || $0.key.hasPrefix("counter.") }
    }
    try variant("a counter missing") { $0.metadata.removeAll { $0.key.hasPrefix("counter.") } }
    try variant("a counter renamed") {
      $0.metadata = $0.metadata.map { ($0.key.hasPrefix("counter.") ? "counter.steps" : $0.key, $0.value) }
    }
    for text in ["-1", "", "1.5", "99999999999999999999", "x"] {
      try variant("counter \"\(text)\"") {
        $0.metadata = $0.metadata.map { ($0.key, $0.key.hasPrefix("counter.") ? text : $0.value) }
      }
    }
    try variant("an optimiser slot renamed") {
      let index = $0.entries.firstIndex { $0.name.hasPrefix("optimizer/firstMoment/") }!
      $0.entries[index].name = "optimizer/velocity/0.weight"
    }
    return corpus
  }

  @Test("A corpus of over 1,000 malformed files is rejected, leaving model and optimiser unchanged")
  func malformedCorpus() throws {
    let source = Self.model(Double.self, seed: 3)
    let sourceAdam = Adam(parameters: source.parameters, learningRate: 0.01)
    Self.train(source, sourceAdam, steps: 3)
    let valid = Checkpoint.encode(source, optimizer: sourceAdam)
    let corpus = try Self.malformedCorpus(from: valid)
    #expect(corpus.count >= 1000)

    let target = Self.model(Double.self, seed: 4)
    let adam = Adam(parameters: target.parameters, learningRate: 0.01)
    Self.train(target, adam, steps: 1)
    let before = fingerprint(target, adam)
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("malformed.safetensors")
    var reasons: Set<String> = []
    for (label, bytes) in corpus {
      #expect(writeTestFile(path, bytes))
      do {
        try Checkpoint.load(from: path, into: target, optimizer: adam)
        Issue.record("accepted: \(label)")
      } catch {
        reasons.insert(Mirror(reflecting: error.problem).children.first?.label ?? "\(error.problem)")
      }
      #expect(fingerprint(target, adam) == before, "changed by: \(label)")
    }
    #expect(reasons.count >= 8)  // the errors are of different kinds

    // The untouched file still loads.
    #expect(writeTestFile(path, valid))
    try Checkpoint.load(from: path, into: target, optimizer: adam)
    #expect(fingerprint(target, adam) == fingerprint(source, sourceAdam))
  }

  @Test("Each kind of damage gets its own error")
  func specificErrors() throws {
    let model = Self.model(Double.self, seed: 3)
    let adam = Adam(parameters: model.parameters, learningRate: 0.01)
    let valid = Checkpoint.encode(model, optimizer: adam)
    func error(_ bytes: [UInt8], optimizer: (any Optimizer<Double>)? = nil) -> FileError? {
      do {
        try Checkpoint.decode(bytes, into: model, optimizer: optimizer ?? adam)
        return nil
      } catch { return error }
    }
    func changed(_ change: (inout RawSafeTensors) -> Void) throws -> [UInt8] {
      var raw = try RawSafeTensors(valid)
      change(&raw)
      raw.updateChecksum()
      return raw.bytes
    }
    let path = "checkpoint data"
    if case .malformed(let reason) = error(Array(valid.prefix(3)))?.problem {
      #expect(reason.contains("8-byte header length"))
    } else {
      Issue.record("truncated")
    }
    #expect(
      error(SafeTensors.encode(["x": Tensor<Double>(Double(1))]))
        == FileError(path: path, .notACheckpoint("its metadata has no \"format\": \"backprop.checkpoint\"")))
    #expect(
      error(try changed { $0.metadata = $0.metadata.map { ($0.key, $0.key == "version" ? "3" : $0.value) } })
        == FileError(path: path, .unsupportedVersion("3")))
    var damaged = valid
    damaged[damaged.count - 1] ^= 1
    if let damage = error(damaged), case .checksumMismatch = damage.problem {
      #expect(damage.path == path)
    } else {
      Issue.record("checksum")
    }
    func renamed(_ from: String, _ to: String) throws -> [UInt8] {
      try changed { raw in
        raw.entries = raw.entries.map {
          var e = $0; if e.name == from { e.name = to }; return e
        }
      }
    }
    #expect(
      error(
        try changed { raw in
          raw.entries = raw.entries.map {
            var e = $0; if e.name == "0.weight" { e.shape = [2, 3] }; return e
          }
        })
        == FileError(path: path, place: .model("0.weight"), .shapeMismatch(expected: [3, 2], found: [2, 3])))
    #expect(
      error(
        try changed { raw in
          raw.entries = raw.entries.map {
            var e = $0; if e.name == "optimizer/firstMoment/0.weight" { e.shape = [2, 3] }; return e
          }
        })
        == FileError(
          path: path, place: .optimizer(slot: "firstMoment", parameter: "0.weight"),
          .shapeMismatch(expected: [3, 2], found: [2, 3])))
    #expect(
      error(try renamed("0.weight", "x")) == FileError(path: path, place: .model("x"), .unexpectedTensor))
    #expect(
      error(try renamed("optimizer/secondMoment/1.bias", "optimizer/v/1.bias"))
        == FileError(path: path, place: .optimizer(slot: "v", parameter: "1.bias"), .unexpectedTensor))
    #expect(
      error(
        try changed {
          $0.metadata = $0.metadata.map { ($0.key, $0.key == "optimizer" ? "Momentum" : $0.value) }
        })
        == FileError(path: path, .optimizerMismatch(expected: "Adam", found: "Momentum")))
    #expect(
      error(try changed { $0.metadata.removeAll { $0.key.hasPrefix("counter.") } })
        == FileError(path: path, .counterMismatch(name: "stepCount")))

    let floatModel = Self.model(Float.self, seed: 3)
    #expect(
      throws: FileError(
        path: path, place: .model("0.weight"), .scalarTypeMismatch(expected: "F32", found: "F64"))
    ) {
      try Checkpoint.decode(valid, into: floatModel)
    }
    let wider = Self.model(Double.self, seed: 3, sizes: [2, 3, 1, 1])
    #expect(throws: FileError(path: path, place: .model("2.weight"), .missingTensor)) {
      try Checkpoint.decode(valid, into: wider)
    }
    // A model-only load ignores the optimiser state; a model-only file cannot fill an optimiser.
    try Checkpoint.decode(valid, into: model)
    let modelOnly = Checkpoint.encode(model)
    #expect(throws: FileError(path: path, .optimizerMismatch(expected: "Adam", found: ""))) {
      try Checkpoint.decode(modelOnly, into: model, optimizer: adam)
    }
    #expect(
      String(
        describing: FileError(
          path: "run.safetensors", place: .optimizer(slot: "m", parameter: "0.weight"),
          .shapeMismatch(expected: [2, 3], found: [3, 2])))
        == "run.safetensors, the optimiser's \"m\" of \"0.weight\": shape [3, 2] in the file, expected [2, 3]"
    )
  }

  @Test("Saving stops on ambiguous names and foreign optimiser parameters (programmer errors)")
  func saveErrors() async throws {
    let twins = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      final class Twin: Layer {
        let a = Variable(Tensor<Double>(1.0), requiresGrad: true, name: "w")
        let b = Variable(Tensor<Double>(2.0), requiresGrad: true, name: "w")
        func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * a * b }
        var parameters: [Variable<Double>] { [a, b] }
      }
      _ = Checkpoint.encode(Twin())
    }
    let twinsText = String(decoding: twins?.standardErrorContent ?? [], as: UTF8.self)
    #expect(twinsText.contains("Checkpoint: the name \"w\" appears twice"))
    let stranger = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let model = Sequential { Dense<Double>(inputSize: 2, outputSize: 1) }
      let outsider = Variable(Tensor<Double>(0.0), requiresGrad: true)
      let momentum = Momentum(parameters: model.parameters + [outsider], learningRate: 0.1, momentum: 0.9)
      _ = Checkpoint.encode(model, optimizer: momentum)
    }
    let strangerText = String(decoding: stranger?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      strangerText.contains("Checkpoint: the optimiser's parameter 2 is not one of the model's parameters"))
    // Unnamed custom-layer parameters are named by position.
    final class Pair: Layer {
      let p = Variable(Tensor<Double>(1.0), requiresGrad: true)
      let q = Variable(Tensor<Double>(2.0), requiresGrad: true)
      func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * p + q }
      var parameters: [Variable<Double>] { [p, q] }
    }
    #expect(Pair().namedParameters.map(\.name) == ["parameter0", "parameter1"])
    let file = try SafeTensors(bytes: Checkpoint.encode(Sequential { Pair() }))
    #expect(file.entries.map(\.name).sorted() == ["0.parameter0", "0.parameter1"])
  }

  @Test("A crash mid-save leaves the previous checkpoint intact")
  func atomicSave() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("model.safetensors")
    let old = Self.model(Double.self, seed: 1)
    let new = Self.model(Double.self, seed: 2)
    try Checkpoint.save(old, to: path)
    let newBytes = Checkpoint.encode(new)
    for crashPoint in [0, 1, newBytes.count / 2, newBytes.count - 1] {
      #expect(throws: FileError.self) {
        try writeFileAtomically(newBytes, to: path, simulatedCrashAfter: crashPoint)
      }
      let reader = Self.model(Double.self, seed: 3)
      try Checkpoint.load(from: path, into: reader)
      #expect(fingerprint(reader, nil) == fingerprint(old, nil))
    }
    try Checkpoint.save(new, to: path)  // later saves are not disturbed by leftovers
    let reader = Self.model(Double.self, seed: 3)
    try Checkpoint.load(from: path, into: reader)
    #expect(fingerprint(reader, nil) == fingerprint(new, nil))
    #expect(scratch.contents.filter { !$0.contains(".tmp-") } == ["model.safetensors"])
  }

  @Test("File-system problems are thrown, not trapped")
  func fileSystemErrors() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let model = Self.model(Double.self, seed: 1)
    let before = fingerprint(model, nil)
    #expect {
      try Checkpoint.save(model, to: scratch.file("missing/dir/model.ckpt"))
    } throws: { error in
      if case .io = (error as? FileError)?.problem { true } else { false }
    }
    #expect {
      try Checkpoint.load(from: scratch.file("nothing-here.ckpt"), into: model)
    } throws: { error in
      if case .io = (error as? FileError)?.problem { true } else { false }
    }
    // A file far larger than any checkpoint of the model is not read at all.
    #expect(writeTestFile(scratch.file("huge.ckpt"), Array(repeating: 0, count: 2 << 20)))
    #expect {
      try Checkpoint.load(from: scratch.file("huge.ckpt"), into: model)
    } throws: { error in
      if case .tooLarge = (error as? FileError)?.problem { true } else { false }
    }
    #expect(fingerprint(model, nil) == before)
  }
}

@Suite("Checkpoints: running statistics")
struct RunningStatisticsCheckpointTests {
  @Test("BatchNorm's running statistics are saved and restored beside the parameters, bit for bit")
  func roundTrip() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    var rng = SeededRandomNumberGenerator(seed: 3)
    let norm = BatchNorm<Double>(featureCount: 2)
    let model = Sequential {
      Dense<Double>(inputSize: 3, outputSize: 2, using: &rng)
      norm
    }
    #expect(model.namedBuffers.map(\.name) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"])
    _ = model(Variable(Tensor<Double>(randomUniform: [5, 3], using: &rng)))
    let (mean, variance) = (norm.runningMean.value, norm.runningVariance.value)
    let path = scratch.file("norm.safetensors")
    try Checkpoint.save(model, to: path)
    norm.runningMean.value = Tensor(zeros: [2])
    norm.runningVariance.value = Tensor(ones: [2])
    try Checkpoint.load(from: path, into: model)
    #expect(norm.runningMean.value == mean && norm.runningVariance.value == variance)
  }
}

@Suite("Checkpoints: the previous format")
struct Version1CheckpointTests {
  /// The model that the previous release saved to `Fixtures/checkpoint-version1.safetensors`
  /// (seed 7, one Adam step, BatchNorm after one batch), under its own names and layouts.
  static func model() -> Sequential<Double> {
    var rng = SeededRandomNumberGenerator(seed: 99)  // other values: the load must replace them all
    return Sequential<Double> {
      Dense<Double>(inputSize: 3, outputSize: 4, activation: .tanh, using: &rng)
      LayerNorm<Double>(featureCount: 4)
      BatchNorm<Double>(featureCount: 4)
      TransformerBlock<Double>(modelSize: 4, headCount: 2, feedForwardSize: 8, using: &rng)
      LSTM<Double>(inputSize: 4, hiddenSize: 3, using: &rng)
      GRU<Double>(inputSize: 3, hiddenSize: 2, using: &rng)
      Embedding<Double>(vocabularySize: 5, embeddingSize: 4, using: &rng)
      Conv2D<Double>(inputChannelCount: 2, outputChannelCount: 3, kernelSize: 3, using: &rng)
    }
  }

  @Test("A version-1 checkpoint loads into today's layers: every tensor by its old name, the optimiser too")
  func readsVersion1() throws {
    let path = fixtures + "checkpoint-version1.safetensors"
    let file = try SafeTensors(contentsOf: path)
    #expect(file.metadata["version"] == "1")
    let model = Self.model()
    let adam = Adam(parameters: model.parameters, learningRate: 0.01)
    try Checkpoint.load(from: path, into: model, optimizer: adam)

    // The old names, written out here rather than taken from the loader's table.
    let old: [(String, String)] = [
      ("0.weight", "0.weight"), ("1.scale", "1.weight"), ("1.offset", "1.bias"), ("2.scale", "2.weight"),
      ("2.runningMean", "2.running_mean"), ("2.runningVariance", "2.running_var"),
      ("2.batchesTracked", "2.num_batches_tracked"),
      ("3.attention.inputWeight", "3.self_attn.in_proj_weight"),
      ("3.attention.outputBias", "3.self_attn.out_proj.bias"), ("3.attentionNorm.scale", "3.norm1.weight"),
      ("3.feedForwardNorm.offset", "3.norm2.bias"), ("3.feedForwardIn.weight", "3.linear1.weight"),
      ("3.feedForwardOut.bias", "3.linear2.bias"), ("4.inputWeight", "4.weight_ih_l0"),
      ("4.hiddenBias", "4.bias_hh_l0"), ("5.hiddenWeight", "5.weight_hh_l0"), ("6.weight", "6.weight"),
      ("7.weight", "7.weight"),
    ]
    let tensors = Dictionary(uniqueKeysWithValues: model.namedTensors.map { ($0.name, $0.variable) })
    for (oldName, newName) in old {
      #expect(try file.tensor(named: oldName, as: Double.self) == tensors[newName]?.value, "\(oldName)")
    }
    #expect(tensors["2.num_batches_tracked"]?.value == Tensor(1.0))
    #expect(adam.stepCount == 1)
    #expect(
      try file.tensor(named: "optimizer/firstMoment/3.attention.inputWeight", as: Double.self)
        == adam.state.slots["firstMoment"]![
          model.parameters.firstIndex { $0 === tensors["3.self_attn.in_proj_weight"] }!])

    // Saved again, it is a version-2 checkpoint that loads to the same bits.
    let resaved = Checkpoint.encode(model, optimizer: adam)
    #expect(try SafeTensors(bytes: resaved).metadata["version"] == "2")
    let copy = Self.model()
    let copyAdam = Adam(parameters: copy.parameters, learningRate: 0.01)
    try Checkpoint.decode(resaved, into: copy, optimizer: copyAdam)
    #expect(fingerprint(copy, copyAdam) == fingerprint(model, adam))
  }

  /// The layer of one's own that the previous release saved to
  /// `Fixtures/checkpoint-version1-composite.safetensors` (seed 8): built-in layers in a property
  /// and in an array, as the Addition example's GPT holds them.
  final class Composite: Layer {
    let blocks: [TransformerBlock<Double>]
    let norm = LayerNorm<Double>(featureCount: 4)
    let head: Dense<Double>
    init() {
      var rng = SeededRandomNumberGenerator(seed: 98)
      blocks = (0..<2).map { _ in
        TransformerBlock(modelSize: 4, headCount: 2, feedForwardSize: 8, using: &rng)
      }
      head = Dense(inputSize: 4, outputSize: 3, using: &rng)
    }
    func callAsFunction(_ input: Variable<Double>) -> Variable<Double> {
      head(norm(blocks.reduce(input) { $1($0) }))
    }
    var layers: [(String, any Layer<Double>)] {
      blocks.enumerated().map { ("blocks.\($0)", $1) } + [("norm", norm), ("head", head)]
    }
    var parameters: [Variable<Double>] { layers.flatMap { $0.1.parameters } }
    var namedTensors: [NamedTensor<Double>] {
      layers.flatMap { name, layer in layer.namedTensors.map { $0.prefixed(by: name) } }
    }
  }

  @Test(
    "A version-1 checkpoint of a layer of one's own loads: the built-in layers it holds are renamed inside it"
  )
  func readsVersion1OfACustomLayer() throws {
    let path = fixtures + "checkpoint-version1-composite.safetensors"
    let file = try SafeTensors(contentsOf: path)
    let model = Composite()
    try Checkpoint.load(from: path, into: model)
    let tensors = Dictionary(uniqueKeysWithValues: model.namedTensors.map { ($0.name, $0.variable) })
    for (old, new) in [
      ("blocks.1.attention.inputWeight", "blocks.1.self_attn.in_proj_weight"),
      ("blocks.0.feedForwardNorm.scale", "blocks.0.norm2.weight"), ("norm.offset", "norm.bias"),
      ("head.weight", "head.weight"),
    ] {
      #expect(try file.tensor(named: old, as: Double.self) == tensors[new]?.value, "\(old)")
    }
  }
}
