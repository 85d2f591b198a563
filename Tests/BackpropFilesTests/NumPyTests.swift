import BackpropTensor
import BackpropTestSupport
import Testing

@testable import BackpropFiles

/// A `.npy` file from its header text, padded as NumPy pads it, and its data.
func npyFile(_ header: String, version: UInt8 = 1, data: [UInt8]) -> [UInt8] {
  let lengthSize = version == 1 ? 2 : 4
  var text = Array(header.utf8)
  text += [UInt8](repeating: 0x20, count: (64 - (8 + lengthSize + text.count + 1) % 64) % 64) + [0x0A]
  let length = lengthSize == 2 ? littleEndian([UInt16(text.count)]) : littleEndian([UInt32(text.count)])
  return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + text + data
}

@Suite("NumPy .npy")
struct NumPyTests {
  @Test("Files written by hand to the specification read exactly: versions, byte orders, Fortran order")
  func handWritten() throws {
    let f4 = littleEndian([1, 2, 3, 4, 5, 6].map { ($0 as Float).bitPattern })
    let rowMajor = try NumPy.decode(
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: f4), as: Float.self)
    #expect(rowMajor == Tensor<Float>([[1, 2, 3], [4, 5, 6]]))
    // Column-major data: the same matrix stored column by column.
    let columns = littleEndian([1, 4, 2, 5, 3, 6].map { ($0 as Float).bitPattern })
    let fortran = try NumPy.decode(
      npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data: columns), as: Double.self)
    #expect(fortran == Tensor<Double>([[1, 2, 3], [4, 5, 6]]))
    let bigEndian = (1.5 as Double).bitPattern.bigEndian
    let big = try NumPy.decode(
      npyFile(
        "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", version: 2,
        data: littleEndian([bigEndian])),
      as: Double.self)
    #expect(big.scalars == [1.5])
    let half = try NumPy.decode(
      npyFile(
        "{\"shape\": (), \"descr\": \"<f2\", \"fortran_order\": False}", version: 3, data: [0x00, 0x3C]),
      as: Float.self)
    #expect(half.shape == [] && half.scalars == [1])
    let empty = try NumPy.decode(
      npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", data: []), as: Float.self)
    #expect(empty.shape == [0, 3])
  }

  @Test("A file numpy.save wrote reads; the writer's bytes are numpy.save's")
  func numpyBytes() throws {
    let logits = try NumPy.read(from: "Examples/Data/digits-mlp-pytorch-logits.npy", as: Float.self)
    #expect(logits.shape == [359, 10])
    // numpy.save(path, numpy.array([[1, 2, 3], [4, 5, 6]], dtype=numpy.float32)), NumPy 2.4.
    let header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + String(repeating: " ", count: 58) + "\n"
    let expected =
      [0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0] + Array(header.utf8)
      + littleEndian([1, 2, 3, 4, 5, 6].map { ($0 as Float).bitPattern })
    #expect(NumPy.encode(Tensor<Float>([[1, 2, 3], [4, 5, 6]])) == expected)
    #expect(NumPy.encode(Tensor<Double>(Double(7))).count == 128 + 8)
  }

  @Test("Every rank and both scalar types round-trip bit for bit through a file")
  func roundTrip() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    var rng = SeededRandomNumberGenerator(seed: 8)
    for rank in 0...5 {
      let shape = (0..<rank).map { _ in Int.random(in: 0...3, using: &rng) }
      let float = Tensor<Float>(randomUniform: shape, using: &rng)
      let double = Tensor<Double>(randomUniform: shape, using: &rng)
      try NumPy.write(float, to: scratch.file("f.npy"))
      try NumPy.write(double, to: scratch.file("d.npy"))
      let readFloat = try NumPy.read(from: scratch.file("f.npy"), as: Float.self)
      let readDouble = try NumPy.read(from: scratch.file("d.npy"), as: Double.self)
      #expect(
        readFloat.shape == shape && readFloat.scalars.map(\.bitPattern) == float.scalars.map(\.bitPattern))
      #expect(
        readDouble.shape == shape && readDouble.scalars.map(\.bitPattern) == double.scalars.map(\.bitPattern))
    }
    let special = Tensor<Double>([-0.0, .infinity, .leastNonzeroMagnitude, .nan])
    let back = try NumPy.decode(NumPy.encode(special), as: Double.self)
    #expect(back.scalars.map(\.bitPattern) == special.scalars.map(\.bitPattern))
  }

  @Test("Each breach of the format gets a message; other dtypes are refused as unsupported")
  func specificErrors() {
    let four = [UInt8](repeating: 0, count: 4)
    let cases: [(bytes: [UInt8], message: String)] = [
      (Array("NUMPY".utf8), "magic bytes"),
      ([0x93] + Array("NUMPY".utf8) + [4, 0], "format version 4.0"),
      ([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF], "runs past the end"),
      (npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", data: four + four), "dtype '<i8'"),
      (npyFile("{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", data: four), "dtype '|f4'"),
      (npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: four), "needs 8 bytes"),
      (
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: four + [0]),
        "needs 4 bytes"
      ),
      (
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1), }", data: four),
        "'shape' is not a tuple"
      ),
      (
        npyFile("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", data: four), "neither True nor False"
      ),
      (npyFile("{'descr': '<f4', 'shape': (1,), }", data: four), "needs the keys"),
      (
        npyFile("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data: four),
        "appears twice"
      ),
      (
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", data: four),
        "unexpected key 'x'"
      ),
      (npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", data: four), "not a tuple"),
      (
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: four),
        "more elements than an Int counts"
      ),
      (
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", data: four),
        "after the dictionary"
      ),
      (npyFile("{'descr': 'é', 'fortran_order': False, 'shape': (1,), }", data: four), "not ASCII"),
    ]
    expectFailures(cases) { _ = try NumPy.decode($0, as: Float.self) }
  }

  @Test("Fuzzing: over 1,000 malformed files each throw a FileError or read consistently")
  func fuzz() {
    var rng = SeededRandomNumberGenerator(seed: 41)
    let valid = NumPy.encode(Tensor<Float>(randomUniform: [3, 2], using: &rng))
    var corpus = truncationsAndBitFlips(of: valid)
    let replacements = Array("{}(),:'\"0123456789 TrueFalse<>|f".utf8) + [0x80, 0xFF]
    for _ in 0..<800 {  // header characters replaced by ones that matter to the literal
      var bytes = valid
      for _ in 0..<Int.random(in: 1...3, using: &rng) {
        bytes[Int.random(in: 10..<64, using: &rng)] = replacements.randomElement(using: &rng)!
      }
      corpus.append(bytes)
    }
    #expect(corpus.count >= 1000)
    var accepted = 0
    for bytes in corpus {
      do {
        let tensor = try NumPy.decode(bytes, as: Double.self)
        accepted += 1
        #expect(tensor.scalarCount * 4 <= bytes.count)
      } catch {
        #expect(!error.description.isEmpty)
      }
    }
    #expect(accepted < corpus.count / 2)
  }
}
