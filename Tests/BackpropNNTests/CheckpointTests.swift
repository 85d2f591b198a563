import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropNN

/// A checkpoint file spelled out field by field, written independently of the library's encoder,
/// so that tests can build exactly the malformed files they want.
struct RawCheckpoint {
  struct Entry {
    var name: String
    var scalarType: UInt8
    var dimensions: [UInt64]
    var offset: UInt64
    var byteCount: UInt64
  }

  var magic: [UInt8] = Array("BKPROPCK".utf8)
  var version: UInt32 = 1
  var headerSize: UInt32?  // nil: the real size
  var optimizerKind = ""
  var counters: [(name: String, value: UInt64)] = []
  var counterCount: UInt32?  // nil: the real count
  var entries: [Entry] = []
  var entryCount: UInt32?  // nil: the real count
  var headerPadding: [UInt8] = []
  var data: [UInt8] = []
  var checksum: UInt32?  // nil: the right CRC-32

  /// Reads a valid file back into fields.
  init(_ bytes: [UInt8]) throws {
    let parsed = try Checkpoint.parse(bytes)
    optimizerKind = parsed.optimizerKind
    counters = parsed.counters.map { ($0.name, UInt64($0.value)) }
    entries = parsed.entries.map {
      Entry(
        name: $0.name, scalarType: $0.scalarType, dimensions: $0.shape.map { UInt64($0) },
        offset: UInt64($0.offset), byteCount: UInt64($0.byteCount))
    }
    data = Array(bytes[parsed.dataStart..<(bytes.count - 4)])
  }

  var bytes: [UInt8] {
    var header: [UInt8] = []
    Self.append(optimizerKind, to: &header)
    Self.append(counterCount ?? UInt32(counters.count), to: &header)
    for counter in counters {
      Self.append(counter.name, to: &header)
      Self.append(counter.value, to: &header)
    }
    Self.append(entryCount ?? UInt32(entries.count), to: &header)
    for entry in entries {
      Self.append(entry.name, to: &header)
      header.append(entry.scalarType)
      header.append(UInt8(truncatingIfNeeded: entry.dimensions.count))
      for dimension in entry.dimensions { Self.append(dimension, to: &header) }
      Self.append(entry.offset, to: &header)
      Self.append(entry.byteCount, to: &header)
    }
    header += headerPadding
    var bytes = magic
    Self.append(version, to: &bytes)
    Self.append(headerSize ?? UInt32(header.count), to: &bytes)
    bytes += header + data
    Self.append(checksum ?? CRC32.checksum(bytes[...]), to: &bytes)
    return bytes
  }

  static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    for index in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
  }

  static func append(_ string: String, to bytes: inout [UInt8]) {
    append(UInt16(string.utf8.count), to: &bytes)
    bytes += string.utf8
  }
}

/// Bit patterns of every parameter and every optimiser tensor, to compare states exactly (NaN
/// payloads and −0 included).
func fingerprint<Scalar: TensorScalar>(
  _ model: some Layer<Scalar>, _ optimizer: (any Optimizer<Scalar>)?
) -> [[UInt64]] {
  var result = model.parameters.map { $0.value.scalars.map { Checkpoint.bitPattern(of: $0) } }
  if let state = optimizer?.state {
    for slot in state.slots.keys.sorted() {
      for tensor in state.slots[slot] ?? [] {
        result.append(tensor.scalars.map { Checkpoint.bitPattern(of: $0) })
      }
    }
    result.append(state.counters.sorted { $0.key < $1.key }.map { UInt64($0.value) })
  }
  return result
}

/// A scratch directory for one test, removed by `cleanUp()`.
struct ScratchDirectory {
  let path: String

  init() {
    path = "/tmp/backprop-checkpoint-tests-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    #expect(mkdirTest(path))
  }

  func file(_ name: String) -> String { path + "/" + name }

  var contents: [String] { listDirectory(path) }

  func cleanUp() { removeDirectory(path) }
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
      meanSquaredError(predicted: model(x), expected: y).backward()
      optimizer.step()
    }
  }

  @Test("The encoder writes exactly the documented layout")
  func documentedLayout() throws {
    let model = Self.model(Double.self, seed: 1)
    let adam = Adam(parameters: model.parameters, learningRate: 0.01)
    Self.train(model, adam, steps: 2)
    let bytes = try Checkpoint.encode(model, optimizer: adam)
    let raw = try RawCheckpoint(bytes)
    #expect(raw.bytes == bytes)
    #expect(Array(bytes[0..<8]) == Array("BKPROPCK".utf8))
    #expect(raw.optimizerKind == "Adam")
    #expect(raw.counters.map(\.name) == ["stepCount"] && raw.counters.map(\.value) == [2])
    #expect(
      raw.entries.map(\.name) == [
        "model/0.weight", "model/0.bias", "model/1.weight", "model/1.bias",
        "optimizer/firstMoment/0.weight", "optimizer/firstMoment/0.bias",
        "optimizer/firstMoment/1.weight", "optimizer/firstMoment/1.bias",
        "optimizer/secondMoment/0.weight", "optimizer/secondMoment/0.bias",
        "optimizer/secondMoment/1.weight", "optimizer/secondMoment/1.bias",
      ])
    #expect(raw.entries[0].dimensions == [2, 3] && raw.entries[0].scalarType == 2)
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
    let path = scratch.file("model.ckpt")
    try Checkpoint.save(source, to: path)
    try Checkpoint.load(path, into: target)
    #expect(fingerprint(source, nil) == fingerprint(target, nil))
    #expect(scratch.contents == ["model.ckpt"])  // no temporary file left behind
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
    try Checkpoint.save(first, optimizer: firstOptimizer, to: scratch.file("run.ckpt"))

    let resumed = model(Scalar.self, seed: 99)  // different weights, overwritten by the load
    let resumedOptimizer = makeOptimizer(resumed.parameters)
    try Checkpoint.load(scratch.file("run.ckpt"), into: resumed, optimizer: resumedOptimizer)
    #expect(fingerprint(resumed, resumedOptimizer) == fingerprint(first, firstOptimizer))
    train(resumed, resumedOptimizer, steps: 10)
    #expect(fingerprint(resumed, resumedOptimizer) == fingerprint(uninterrupted, reference))
  }

  /// Malformed variants of one valid checkpoint (a 2-3-1 model with Adam state), each with a
  /// label saying what was broken.
  static func malformedCorpus(from valid: [UInt8]) throws -> [(label: String, bytes: [UInt8])] {
    var corpus: [(String, [UInt8])] = []
    func variant(_ label: String, _ change: (inout RawCheckpoint) -> Void) throws {
      var raw = try RawCheckpoint(valid)
      change(&raw)
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
    // Trailing garbage, with and without a matching checksum.
    corpus.append(("one trailing byte", valid + [0]))
    corpus.append(("a trailing copy", valid + valid))
    try variant("trailing data bytes under a valid checksum") { $0.data += [1, 2, 3, 4] }
    try variant("unused header bytes under a valid checksum") { $0.headerPadding = [0, 0] }

    // Preamble.
    try variant("wrong magic") { $0.magic = Array("BKPROPXX".utf8) }
    for version in [0, 2, 0xFFFF_FFFF] as [UInt32] {
      try variant("unknown version \(version)") { $0.version = version }
    }
    for size in [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF] as [UInt32] {
      try variant("header size \(size)") { $0.headerSize = size }
    }
    try variant("wrong checksum") { $0.checksum = 0xDEAD_BEEF }

    // Absurd counts and sizes.
    for count in [2, 1000, 0xFFFF_FFFF] as [UInt32] {
      try variant("counter count \(count)") { $0.counterCount = count }
      try variant("entry count \(count)") { $0.entryCount = count }
    }
    try variant("entry count 0") { $0.entryCount = 0 }
    for dimension in [4, 1 << 20, UInt64(Int.max), UInt64.max] {
      try variant("dimension \(dimension)") { $0.entries[0].dimensions[0] = dimension }
    }
    try variant("dimensions that overflow when multiplied") { $0.entries[0].dimensions = [1 << 33, 1 << 33] }
    try variant("rank 255") { $0.entries[0].dimensions = Array(repeating: 1, count: 255) }
    try variant("byte count too large") { $0.entries[1].byteCount += 8 }
    try variant("byte count UInt64.max") { $0.entries[1].byteCount = .max }
    try variant("offset UInt64.max") { $0.entries[1].offset = .max }
    try variant("counter value above Int.max") { $0.counters[0].value = .max }

    // Data layout.
    try variant("two entries overlap") { $0.entries[1].offset = $0.entries[0].offset }
    try variant("a gap between entries") {
      for index in 1..<$0.entries.count { $0.entries[index].offset += 8 }
      $0.data += Array(repeating: 0, count: 8)
    }
    try variant("the last entry leaves bytes uncovered") { $0.data += Array(repeating: 0, count: 8) }
    try variant("entries swapped so that one runs past the data") {
      $0.entries[0].offset = UInt64($0.data.count) - 8
    }

    // Names, types and shapes against the model.
    try variant("an entry renamed") { $0.entries[0].name = "model/0.weights" }
    try variant("a model entry missing") {
      let removed = $0.entries.removeFirst()
      $0.data.removeFirst(Int(removed.byteCount))
      for index in $0.entries.indices { $0.entries[index].offset -= removed.byteCount }
    }
    try variant("an extra entry") {
      $0.entries.append(
        .init(
          name: "model/2.weight", scalarType: 2, dimensions: [1], offset: UInt64($0.data.count), byteCount: 8)
      )
      $0.data += Array(repeating: 0, count: 8)
    }
    try variant("a duplicated name") { $0.entries[1].name = $0.entries[0].name }
    try variant("a wrong shape with the same element count") { $0.entries[0].dimensions = [3, 2] }
    try variant("a wrong rank") { $0.entries[1].dimensions = [1, 3] }
    try variant("Float32 data where the model is Double") {
      $0.entries[0].scalarType = 1
      $0.entries[0].byteCount /= 2
      let removed = $0.entries[0].byteCount
      $0.data.removeFirst(Int(removed))
      for index in 1..<$0.entries.count { $0.entries[index].offset -= removed }
    }
    try variant("unknown scalar type") { $0.entries[0].scalarType = 7 }
    try variant("a name that is not UTF-8") { $0.entries[0].name = "model/0.weight\u{FFFD}" }
    try variant("optimiser kind Momentum") { $0.optimizerKind = "Momentum" }
    try variant("no optimiser state") {
      $0.optimizerKind = ""
      $0.counters = []
    }
    try variant("a counter missing") { $0.counters = [] }
    try variant("a counter renamed") { $0.counters[0].name = "steps" }
    try variant("a counter duplicated") { $0.counters.append($0.counters[0]) }
    try variant("an optimiser slot renamed") { $0.entries[4].name = "optimizer/velocity/0.weight" }
    return corpus
  }

  @Test("A corpus of over 1,000 malformed files is rejected, leaving model and optimiser unchanged")
  func malformedCorpus() throws {
    let source = Self.model(Double.self, seed: 3)
    let sourceAdam = Adam(parameters: source.parameters, learningRate: 0.01)
    Self.train(source, sourceAdam, steps: 3)
    let valid = try Checkpoint.encode(source, optimizer: sourceAdam)
    var corpus = try Self.malformedCorpus(from: valid)
    // A non-UTF-8 name needs a byte the string builder cannot produce: patch it in.
    if let index = corpus.firstIndex(where: { $0.label == "a name that is not UTF-8" }) {
      var bytes = corpus[index].bytes
      let marker: [UInt8] = [0xEF, 0xBF, 0xBD]
      if let at = (0..<(bytes.count - 2)).first(where: { Array(bytes[$0..<$0 + 3]) == marker }) {
        bytes[at] = 0xFF
        bytes.replaceSubrange((bytes.count - 4)..., with: RawCheckpoint.checksumBytes(bytes.dropLast(4)))
      }
      corpus[index].bytes = bytes
    }
    #expect(corpus.count >= 1000)

    let target = Self.model(Double.self, seed: 4)
    let adam = Adam(parameters: target.parameters, learningRate: 0.01)
    Self.train(target, adam, steps: 1)
    let before = fingerprint(target, adam)
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("malformed.ckpt")
    var reasons: Set<String> = []
    for (label, bytes) in corpus {
      #expect(writeTestFile(path, bytes))
      do {
        try Checkpoint.load(path, into: target, optimizer: adam)
        Issue.record("accepted: \(label)")
      } catch {
        reasons.insert(String(describing: error).prefix(20).description)
      }
      #expect(fingerprint(target, adam) == before, "changed by: \(label)")
    }
    #expect(reasons.count >= 10)  // the errors say different things

    // The untouched file still loads.
    #expect(writeTestFile(path, valid))
    try Checkpoint.load(path, into: target, optimizer: adam)
    #expect(fingerprint(target, adam) == fingerprint(source, sourceAdam))
  }

  @Test("Each kind of damage gets its own error")
  func specificErrors() throws {
    let model = Self.model(Double.self, seed: 3)
    let adam = Adam(parameters: model.parameters, learningRate: 0.01)
    let valid = try Checkpoint.encode(model, optimizer: adam)
    func error(_ bytes: [UInt8], optimizer: (any Optimizer<Double>)? = nil) -> CheckpointError? {
      do {
        try Checkpoint.decode(bytes, into: model, optimizer: optimizer ?? adam)
        return nil
      } catch { return error }
    }
    func changed(_ change: (inout RawCheckpoint) -> Void) throws -> [UInt8] {
      var raw = try RawCheckpoint(valid)
      change(&raw)
      return raw.bytes
    }
    #expect(error(Array(valid.prefix(3))) == .truncated(size: 3, needed: 20))
    #expect(error(Array(repeating: 0, count: 40)) == .notACheckpoint)
    #expect(error(try changed { $0.version = 2 }) == .unsupportedVersion(2))
    if case .checksumMismatch = error(Array(valid.dropLast()) + [valid.last! ^ 1]) {
    } else {
      Issue.record("checksum")
    }
    #expect(
      error(try changed { $0.entries[0].dimensions = [3, 2] })
        == .shapeMismatch(name: "model/0.weight", expected: [2, 3], found: [3, 2]))
    #expect(error(try changed { $0.entries[0].name = "model/x" }) == .unexpectedEntry(name: "model/x"))
    #expect(
      error(try changed { $0.optimizerKind = "Momentum" })
        == .optimizerMismatch(expected: "Adam", found: "Momentum"))
    #expect(error(try changed { $0.counters = [] }) == .counterMismatch(name: "stepCount"))
    if case .malformedData = error(try changed { $0.data += [0] }) {} else { Issue.record("trailing data") }
    if case .malformedHeader = error(try changed { $0.entryCount = 0xFFFF_FFFF }) {
    } else {
      Issue.record("entry count")
    }

    let floatModel = Self.model(Float.self, seed: 3)
    #expect(
      throws: CheckpointError.scalarTypeMismatch(
        name: "model/0.weight", expected: "Float32", found: "Float64")
    ) {
      try Checkpoint.decode(valid, into: floatModel)
    }
    let wider = Self.model(Double.self, seed: 3, sizes: [2, 3, 1, 1])
    #expect(throws: CheckpointError.missingEntry(name: "model/2.weight")) {
      try Checkpoint.decode(valid, into: wider)
    }
    // A model-only load ignores the optimiser state; a model-only file cannot fill an optimiser.
    try Checkpoint.decode(valid, into: model)
    let modelOnly = try Checkpoint.encode(model)
    #expect(throws: CheckpointError.optimizerMismatch(expected: "Adam", found: "")) {
      try Checkpoint.decode(modelOnly, into: model, optimizer: adam)
    }
    #expect(
      String(
        describing: CheckpointError.shapeMismatch(name: "model/0.weight", expected: [2, 3], found: [3, 2]))
        == "checkpoint entry \"model/0.weight\" has shape [3, 2], the model needs [2, 3]")
  }

  @Test("Saving refuses ambiguous names and foreign optimiser parameters")
  func saveErrors() throws {
    final class Twin: Layer {
      let a = Variable(Tensor<Double>(1.0), requiresGrad: true, name: "w")
      let b = Variable(Tensor<Double>(2.0), requiresGrad: true, name: "w")
      func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * a * b }
      var parameters: [Variable<Double>] { [a, b] }
    }
    #expect(throws: CheckpointError.duplicateName("w")) { try Checkpoint.encode(Twin()) }
    let model = Self.model(Double.self, seed: 1)
    let stranger = Variable(Tensor<Double>(0.0), requiresGrad: true)
    let momentum = Momentum(parameters: model.parameters + [stranger], learningRate: 0.1, momentum: 0.9)
    #expect(throws: CheckpointError.optimizerParameterNotInModel(index: 4)) {
      try Checkpoint.encode(model, optimizer: momentum)
    }
    // Unnamed custom-layer parameters are named by position.
    final class Pair: Layer {
      let p = Variable(Tensor<Double>(1.0), requiresGrad: true)
      let q = Variable(Tensor<Double>(2.0), requiresGrad: true)
      func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * p + q }
      var parameters: [Variable<Double>] { [p, q] }
    }
    #expect(Pair().namedParameters.map(\.name) == ["parameter0", "parameter1"])
    let raw = try RawCheckpoint(try Checkpoint.encode(Sequential { Pair() }))
    #expect(raw.entries.map(\.name) == ["model/0.parameter0", "model/0.parameter1"])
  }

  @Test("A crash mid-save leaves the previous checkpoint intact")
  func atomicSave() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("model.ckpt")
    let old = Self.model(Double.self, seed: 1)
    let new = Self.model(Double.self, seed: 2)
    try Checkpoint.save(old, to: path)
    let newBytes = try Checkpoint.encode(new)
    for crashPoint in [0, 1, newBytes.count / 2, newBytes.count - 1] {
      #expect(throws: CheckpointError.self) {
        try Checkpoint.writeAtomically(newBytes, to: path, simulatedCrashAfter: crashPoint)
      }
      let reader = Self.model(Double.self, seed: 3)
      try Checkpoint.load(path, into: reader)
      #expect(fingerprint(reader, nil) == fingerprint(old, nil))
    }
    try Checkpoint.save(new, to: path)  // later saves are not disturbed by leftovers
    let reader = Self.model(Double.self, seed: 3)
    try Checkpoint.load(path, into: reader)
    #expect(fingerprint(reader, nil) == fingerprint(new, nil))
    #expect(scratch.contents.filter { !$0.contains(".tmp-") } == ["model.ckpt"])
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
      if case .io = error as? CheckpointError { true } else { false }
    }
    #expect {
      try Checkpoint.load(scratch.file("nothing-here.ckpt"), into: model)
    } throws: { error in
      if case .io = error as? CheckpointError { true } else { false }
    }
    // A file far larger than any checkpoint of the model is not read at all.
    #expect(writeTestFile(scratch.file("huge.ckpt"), Array(repeating: 0, count: 2 << 20)))
    #expect {
      try Checkpoint.load(scratch.file("huge.ckpt"), into: model)
    } throws: { error in
      if case .fileTooLarge = error as? CheckpointError { true } else { false }
    }
    #expect(fingerprint(model, nil) == before)
  }
}

extension RawCheckpoint {
  static func checksumBytes(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    var result: [UInt8] = []
    append(CRC32.checksum(bytes), to: &result)
    return result
  }
}

@Suite("README: checkpoints")
struct ReadmeCheckpointTests {
  @Test("The README's save and load lines work as written")
  func readme() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    var rng = SeededRandomNumberGenerator(seed: 11)
    let model = Sequential {
      Dense<Double>(inputSize: 2, outputSize: 4, activation: .tanh, using: &rng)
      Dense<Double>(inputSize: 4, outputSize: 1, activation: .sigmoid, using: &rng)
    }
    let adam = Adam(parameters: model.parameters, learningRate: 0.05)
    let path = scratch.file("xor.ckpt")
    try Checkpoint.save(model, optimizer: adam, to: path)
    try Checkpoint.load(path, into: model, optimizer: adam)
    #expect(adam.stepCount == 0)
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
    #expect(model.namedStates.map(\.name) == ["1.runningMean", "1.runningVariance"])
    _ = model(Variable(Tensor<Double>(randomUniform: [5, 3], using: &rng)))
    let (mean, variance) = (norm.runningMean.value, norm.runningVariance.value)
    let path = scratch.file("norm.ckpt")
    try Checkpoint.save(model, to: path)
    norm.runningMean.value = Tensor(zeros: [2])
    norm.runningVariance.value = Tensor(ones: [2])
    try Checkpoint.load(path, into: model)
    #expect(norm.runningMean.value == mean && norm.runningVariance.value == variance)
  }
}
