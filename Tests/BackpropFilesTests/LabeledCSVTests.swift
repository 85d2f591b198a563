import BackpropFiles
import BackpropTensor
import Foundation
import Testing

@Suite("Labelled CSV files")
struct LabeledCSVTests {
  func write(_ text: String) -> String {
    let path = NSTemporaryDirectory() + "backprop-csv-\(UInt64.random(in: .min ... .max)).csv"
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  @Test("Features and labels, in order; a final newline and CRLF endings are fine")
  func valid() throws {
    let path = write("0,1.5,2\r\n3,4,1\n\n")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let (features, labels) = try LabeledCSV.read(from: path, as: Double.self)
    #expect(features == Tensor([[0, 1.5], [3, 4]]) && labels == [2, 1])
  }

  @Test("The shipped digits: 1,797 samples of 64 pixels in 0...16, labels 0...9")
  func digits() throws {
    let path = URL(filePath: #filePath).deletingLastPathComponent()
      .appending(path: "../../Examples/Data/digits.csv").standardized.path
    let (features, labels) = try LabeledCSV.read(from: path, as: Float.self)
    #expect(features.shape == [1797, 64] && labels.count == 1797)
    #expect(features.scalars.allSatisfy { $0 >= 0 && $0 <= 16 } && labels.allSatisfy { (0...9).contains($0) })
  }

  @Test(
    "Malformed files throw an error naming the line; nothing is returned",
    arguments: [
      ("", "line 1: the file has no samples"),
      ("1,2,3\n4,5\n", "line 2: 2 fields where the first line has 3"),
      ("1,x,3\n", "line 1: \"x\" is not a finite number"),
      ("1,nan,3\n", "line 1: \"nan\" is not a finite number"),
      ("1,2,-3\n", "line 1: label \"-3\" is not a non-negative integer"),
      ("1,2,3.5\n", "line 1: label \"3.5\" is not a non-negative integer"),
      ("7\n", "line 1: 1 field; a sample needs features and a label"),
      ("1,2,3\n\n4,5,6\n", "line 3: a sample after the empty line 2"),
    ])
  func malformed(text: String, message: String) {
    let path = write(text)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect {
      _ = try LabeledCSV.read(from: path, as: Double.self)
    } throws: { error in
      (error as? FileError)?.description.contains(message) ?? false
    }
  }

  @Test("A missing file is an I/O error")
  func missing() {
    #expect(throws: FileError.self) {
      try LabeledCSV.read(from: "/nonexistent/digits.csv", as: Double.self)
    }
  }
}
