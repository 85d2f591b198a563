import BackpropFiles
import BackpropTensor
import BackpropTestSupport
import Foundation
import Testing

/// An IDX file of `shape` with the element type `code` and big-endian `elements` of `width` bytes.
func idxFile(code: UInt8, shape: [Int], width: Int, elements: [UInt64]) -> [UInt8] {
  var bytes: [UInt8] = [0, 0, code, UInt8(shape.count)]
  for extent in shape { bytes += withUnsafeBytes(of: UInt32(extent).bigEndian, Array.init) }
  for element in elements {
    bytes += (0..<width).reversed().map { UInt8(truncatingIfNeeded: element >> (8 * $0)) }
  }
  return bytes
}

@Suite("IDX files")
struct IDXTests {
  @Test("Images and labels as MNIST stores them, and every element type")
  func valid() throws {
    let images = idxFile(code: 0x08, shape: [2, 2, 3], width: 1, elements: (0..<12).map(UInt64.init))
    let tensor = try IDX.decode(images, as: Float.self)
    #expect(tensor.shape == [2, 2, 3] && tensor.scalars == (0..<12).map(Float.init))
    let signed = idxFile(code: 0x0B, shape: [2], width: 2, elements: [0xFFFE, 7])
    #expect(try IDX.decode(signed, as: Double.self) == Tensor([-2, 7]))
    let floats = idxFile(code: 0x0D, shape: [1], width: 4, elements: [UInt64(Float(1.5).bitPattern)])
    #expect(try IDX.decode(floats, as: Double.self) == Tensor([1.5]))
    let doubles = idxFile(code: 0x0E, shape: [1], width: 8, elements: [Double(-0.25).bitPattern])
    #expect(try IDX.decode(doubles, as: Double.self) == Tensor([-0.25]))

    let path = NSTemporaryDirectory() + "backprop-labels-\(UInt64.random(in: .min ... .max))"
    _ = FileManager.default.createFile(
      atPath: path, contents: Data(idxFile(code: 0x08, shape: [3], width: 1, elements: [7, 0, 9])))
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(try IDX.readLabels(from: path) == [7, 0, 9])
  }

  @Test(
    "Each kind of damage gets its own error",
    arguments: [
      ([0, 0, 8], "byte 3: the file ends within the 4-byte magic number"),
      ([1, 0, 8, 1, 0, 0, 0, 0], "byte 0: not an IDX file"),
      ([0, 0, 7, 1, 0, 0, 0, 0], "byte 2: unknown element type 0x7"),
      ([0, 0, 8, 0], "byte 3: rank 0 is not in 1...16"),
      ([0, 0, 8, 2, 0, 0, 0, 1], "byte 8: the file ends within the dimensions"),
      ([0, 0, 8, 1, 0, 0, 0, 3, 1, 2], "byte 10: the file ends after 2 of 3 data bytes"),
      ([0, 0, 8, 1, 0, 0, 0, 1, 1, 2], "byte 9: 1 bytes after the data"),
      (
        [0, 0, 0x0E, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        "byte 4: the dimensions [4294967295] hold more data"
      ),
    ] as [([UInt8], String)])
  func damage(bytes: [UInt8], message: String) {
    #expect {
      _ = try IDX.decode(bytes, as: Float.self)
    } throws: { error in
      (error as? FileError)?.description.contains(message) ?? false
    }
  }

  @Test("Fuzzing: over 1,000 malformed files each throw or decode consistently, never crash")
  func fuzz() {
    let valid = idxFile(code: 0x0B, shape: [3, 2, 2], width: 2, elements: (0..<12).map { UInt64($0 * 300) })
    var corpus: [[UInt8]] = []
    for length in 0..<valid.count { corpus.append(Array(valid[0..<length])) }  // every truncation
    for offset in valid.indices {
      for bit in 0..<8 {  // every bit flip
        var damaged = valid
        damaged[offset] ^= 1 << bit
        corpus.append(damaged)
      }
    }
    for extra in 1...16 { corpus.append(valid + [UInt8](repeating: UInt8(extra), count: extra)) }
    var rng = SeededRandomNumberGenerator(seed: 21)
    for _ in 0..<700 {  // random headers with random sizes
      let length = Int.random(in: 0..<64, using: &rng)
      var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if length >= 4 && Bool.random(using: &rng) {
        (bytes[0], bytes[1]) = (0, 0)
        bytes[2] = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E].randomElement(using: &rng)!
        bytes[3] = UInt8.random(in: 1...3, using: &rng)
      }
      corpus.append(bytes)
    }
    #expect(corpus.count >= 1000)
    var decoded = 0
    for bytes in corpus {
      do {
        let tensor = try IDX.decode(bytes, as: Double.self)
        let expected = (0..<Int(bytes[3])).reduce(1) { count, axis in
          count * bytes[(4 + 4 * axis)..<(8 + 4 * axis)].reduce(0) { $0 << 8 | Int($1) }
        }
        #expect(tensor.scalarCount == expected)
        decoded += 1
      } catch {
        #expect(!error.description.isEmpty)
      }
    }
    #expect(decoded > 0 && decoded < corpus.count)
  }
}
