import BackpropTensor
import BackpropTestSupport
import Testing

@testable import BackpropFiles

/// Little-endian bytes of integers, for hand-written files.
func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
  values.flatMap { value in (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

/// A safetensors file from its header text and data, the length prefix computed.
func safetensorsFile(_ header: String, _ data: [UInt8]) -> [UInt8] {
  littleEndian([UInt64(header.utf8.count)]) + Array(header.utf8) + data
}

@Suite("SafeTensors")
struct SafeTensorsTests {
  @Test("A file written by hand to the specification reads exactly: F16, BF16, F64, F32, 0-d and empty")
  func handWritten() throws {
    let header = #"""
      {"__metadata__":{"source":"hand"},"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},\#
      "b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]},"s":{"dtype":"F64","shape":[],"data_offsets":[16,24]},\#
      "e":{"dtype":"F32","shape":[0,4],"data_offsets":[24,24]},"f":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}
      """#
    let data =
      littleEndian([0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x3555] as [UInt16])
      + littleEndian([0x3F80, 0x4049] as [UInt16]) + littleEndian([(0.1 as Double).bitPattern])
      + littleEndian([(-0.5 as Float).bitPattern])
    let file = try SafeTensors(bytes: safetensorsFile(header, data))
    #expect(file.metadata == ["source": "hand"])
    #expect(file.entries.map(\.name) == ["h", "b", "s", "e", "f"])
    let floats = try file.tensors(as: Float.self)
    #expect(floats["h"]?.shape == [2, 3])
    #expect(floats["h"]?.scalars == [1, -2, 65504, 0x1p-24, .infinity, 0.333251953125])
    #expect(floats["b"]?.scalars == [1, 3.140625])
    #expect(floats["s"]?.shape == [] && floats["s"]?.scalars == [Float(0.1 as Double)])
    #expect(floats["e"]?.shape == [0, 4] && floats["e"]?.scalarCount == 0)
    #expect(floats["f"]?.scalars == [-0.5])
    let doubles = try file.tensors(as: Double.self)
    #expect(doubles["s"]?.scalars == [0.1] && doubles["h"]?.scalars[3] == 0x1p-24)
    #expect(try file.tensor(named: "missing", as: Float.self) == nil)
  }

  @Test("F16 converts exactly: every one of the 65,536 bit patterns")
  func everyHalf() {
    for bits in 0...UInt16.max {
      let value = StoredFloat.float(float16Bits: bits)
      #if arch(x86_64) || arch(arm64)
        let reference = Float(Float16(bitPattern: bits))
        #expect(value.bitPattern == reference.bitPattern || (value.isNaN && reference.isNaN), "\(bits)")
      #endif
    }
  }

  @Test("The writer's bytes are those of Python's safetensors for the same tensors")
  func pythonBytes() {
    let bytes = SafeTensors.encode(
      ["b": Tensor<Float>([1, 2]), "a": Tensor<Float>([[3]])], metadata: ["k": "v"])
    // safetensors.numpy.save_file({"b": …, "a": …}, path, metadata={"k": "v"}), version 0.8.0.
    let header =
      #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"#
      + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"# + " "
    #expect(bytes == safetensorsFile(header, littleEndian([3, 1, 2].map { ($0 as Float).bitPattern })))
    #expect(bytes.count % 8 == 4 && (bytes.count - 12) % 8 == 0)
  }

  @Test("Every rank and both scalar types round-trip bit for bit, names and metadata escaped")
  func roundTrip() throws {
    try Self.roundTrip(Float.self)
    try Self.roundTrip(Double.self)
  }

  static func roundTrip<Scalar: TensorScalar>(_: Scalar.Type) throws {
    var rng = SeededRandomNumberGenerator(seed: 5)
    var tensors: [String: Tensor<Scalar>] = [
      "scalar": Tensor(Scalar(-0.0)), "empty": Tensor(zeros: [3, 0, 2]),
      "special \"quoted\" \\ név\n": Tensor([
        .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
      ]),
    ]
    for rank in 1...5 {
      let shape = (0..<rank).map { _ in Int.random(in: 1...4, using: &rng) }
      tensors["rank\(rank)"] = Tensor(randomUniform: shape, using: &rng)
    }
    let metadata = ["a": "1", "quote\"": "line\nbreak \u{1}", "": "empty key"]
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    let path = scratch.file("t.safetensors")
    try SafeTensors.write(tensors, to: path, metadata: metadata)
    let file = try SafeTensors(contentsOf: path)
    #expect(file.metadata == metadata)
    let read = try SafeTensors.read(from: path, as: Scalar.self)
    #expect(read.keys.sorted() == tensors.keys.sorted())
    for (name, tensor) in tensors {
      #expect(read[name]?.shape == tensor.shape)
      let bits = { (scalars: [Scalar]) in
        scalars.map {
          [$0.sign == .minus ? 1 : 0, UInt64($0.exponentBitPattern), UInt64($0.significandBitPattern)]
        }
      }
      #expect(read[name].map { bits($0.scalars) } == bits(tensor.scalars), "\(name)")
    }
  }

  @Test("Integer dtypes are listed but refused with an error naming the tensor")
  func unsupportedDtype() throws {
    let header =
      #"{"steps":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    let file = try SafeTensors(
      bytes: safetensorsFile(header, littleEndian([Int64(7)]) + littleEndian([Float(2).bitPattern])))
    #expect(file.entry(named: "steps")?.dtype == "I64")
    #expect(try file.tensor(named: "w", as: Float.self)?.scalars == [2])
    #expect(file.integers(file.entry(named: "steps")!) == [7])
    #expect(
      throws: FileError(
        path: "safetensors data", place: .tensor("steps"),
        .unsupported("dtype I64 is not floating point (F16, BF16, F32 or F64 read as Float)"))
    ) { try file.tensors(as: Float.self) }
  }

  @Test("Each breach of the format gets a message saying what and where")
  func specificErrors() {
    let entry = #""x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    let eight = [UInt8](repeating: 0, count: 8)
    let cases: [(bytes: [UInt8], message: String)] = [
      ([1, 2, 3], "8-byte header length"),
      (littleEndian([UInt64(100_000_001)]), "more than the limit of 100000000"),
      (littleEndian([UInt64(50)]) + Array("{}".utf8), "runs past the end of the file"),
      (safetensorsFile(" {}", []), "must start with \"{\""),
      (safetensorsFile("{\(entry)", eight), "expected }"),
      (safetensorsFile("{\(entry),\(entry)}", eight), "the key \"x\" appears twice"),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight),
        "needs dtype, shape and data_offsets"
      ),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"Q8\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
        "unknown dtype \"Q8\""
      ),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight),
        "not a non-negative integer"
      ),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", eight),
        "not a non-negative integer"
      ),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight),
        "needs 12 bytes"
      ),
      (
        safetensorsFile(
          "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", eight),
        "more elements than an Int counts"
      ),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", eight),
        "begin ≤ end"
      ),
      (safetensorsFile("{\(entry)}", eight + [0]), "1 bytes after the last tensor"),
      (safetensorsFile("{\(entry)}", [0, 0, 0, 0]), "the tensors need 8 bytes, the file holds 4"),
      (
        safetensorsFile(
          "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", eight + [0, 0, 0, 0]),
        "bytes 0..<4 belong to no tensor"
      ),
      (
        safetensorsFile(
          "{\(entry),\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight),
        "overlap the previous tensor's"
      ),
      (safetensorsFile("{\"__metadata__\":{\"a\":1}}", []), "is the number 1, not a string"),
      (
        safetensorsFile("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":0}}", eight),
        "unknown field \"z\""
      ),
      (safetensorsFile("{\"x\":\"\u{1}\"}", []), "control character"),
      (
        safetensorsFile(
          "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", []),
        "nest more than"
      ),
    ]
    expectFailures(cases) { _ = try SafeTensors(bytes: $0) }
  }

  @Test("Fuzzing: over 1,000 malformed files each throw a FileError or read consistently")
  func fuzz() {
    var rng = SeededRandomNumberGenerator(seed: 31)
    let valid = SafeTensors.encode(
      [
        "w": Tensor<Float>(randomUniform: [2, 3], using: &rng), "b": Tensor<Float>([1, 2]),
        "s": Tensor<Float>(Float(4)),
      ],
      metadata: ["k": "v"])
    var corpus = truncationsAndBitFlips(of: valid)
    let headerEnd = 8 + Int(valid[0])
    let replacements = Array("{}[],:\"\\0123456789-.eE \u{7F}tfn".utf8) + [0x80, 0xC3, 0xFF]
    for _ in 0..<600 {  // header characters replaced by ones that matter to JSON
      var bytes = valid
      for _ in 0..<Int.random(in: 1...3, using: &rng) {
        bytes[Int.random(in: 8..<headerEnd, using: &rng)] = replacements.randomElement(using: &rng)!
      }
      corpus.append(bytes)
    }
    for _ in 0..<200 {  // random bytes behind a plausible length
      let length = Int.random(in: 0..<64, using: &rng)
      corpus.append(
        littleEndian([UInt64(length)]) + (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
    #expect(corpus.count >= 1000)
    var accepted = 0
    for bytes in corpus {
      do {
        let file = try SafeTensors(bytes: bytes)
        accepted += 1
        #expect(file.entries.reduce(0) { $0 + $1.byteRange.count } == bytes.count - file.dataStart)
        if let tensors = try? file.tensors(as: Double.self) {
          #expect(tensors.count == file.entries.count)
        }
      } catch {
        #expect(!error.description.isEmpty)
      }
    }
    #expect(accepted < corpus.count / 2)
  }
}

@Suite("JSON")
struct JSONTests {
  @Test("Strings, escapes, numbers and nesting parse as RFC 8259 says; what it forbids is refused")
  func parse() throws {
    let text = #" {"a": [1, -0.5e+3, true, false, null], "\u00e9\ud83d\ude00\n": "x\"y", "o": {}} "#
    let value = try JSON.parse(Array(text.utf8)[...])
    #expect(
      value
        == .object([
          ("a", .array([.number("1"), .number("-0.5e+3"), .bool(true), .bool(false), .null])),
          ("é😀\n", .string("x\"y")), ("o", .object([])),
        ]))
    #expect(JSON.number("12").count(atMost: 100) == 12 && JSON.number("-1").count(atMost: 100) == nil)
    #expect(JSON.quoted("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
    for bad in [
      "", "01", "1.", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "\"\\x\"", "tru", "{\"a\":1,\"a\":2}", "[1] 2",
    ] {
      #expect(throws: JSON.ParseError.self, "\(bad)") { try JSON.parse(Array(bad.utf8)[...]) }
    }
  }
}
