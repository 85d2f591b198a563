import Foundation
import Testing

/// Creates a directory (and its parents); `true` on success.
public func mkdirTest(_ path: String) -> Bool {
  (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil
}

/// The names in a directory, sorted.
public func listDirectory(_ path: String) -> [String] {
  ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// Removes a directory and everything in it.
public func removeDirectory(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

/// Writes bytes to a file, replacing it; `true` on success.
public func writeTestFile(_ path: String, _ bytes: [UInt8]) -> Bool {
  FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Every truncation of `valid`, then a copy with one flipped bit in every byte (the bit cycling
/// through 0...7): the start of a fuzzing corpus.
public func truncationsAndBitFlips(of valid: [UInt8]) -> [[UInt8]] {
  var corpus = (0..<valid.count).map { Array(valid[0..<$0]) }
  for index in valid.indices {
    var bytes = valid
    bytes[index] ^= 1 << UInt8(index % 8)
    corpus.append(bytes)
  }
  return corpus
}

/// Expects `read` to throw for the bytes of every case, with an error whose description
/// contains the case's message.
public func expectFailures(
  _ cases: [(bytes: [UInt8], message: String)], sourceLocation: SourceLocation = #_sourceLocation,
  _ read: ([UInt8]) throws -> Void
) {
  for (bytes, message) in cases {
    do {
      try read(bytes)
      Issue.record("accepted a file that should fail with \"\(message)\"", sourceLocation: sourceLocation)
    } catch {
      #expect(
        "\(error)".contains(message), "\(error) lacks \"\(message)\"", sourceLocation: sourceLocation)
    }
  }
}

/// A scratch directory for one test, removed by `cleanUp()`.
public struct ScratchDirectory {
  /// The directory's path, under /tmp.
  public let path: String

  /// Creates a new, empty directory with a random name.
  public init() {
    path = "/tmp/backprop-tests-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    #expect(mkdirTest(path))
  }

  /// The path of `name` inside the directory.
  public func file(_ name: String) -> String { path + "/" + name }

  /// The names in the directory, sorted.
  public var contents: [String] { listDirectory(path) }

  /// Removes the directory and everything in it.
  public func cleanUp() { removeDirectory(path) }
}
