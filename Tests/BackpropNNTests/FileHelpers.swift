import Foundation

/// Creates a directory (and its parents); `true` on success.
func mkdirTest(_ path: String) -> Bool {
  (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil
}

/// The names in a directory, sorted.
func listDirectory(_ path: String) -> [String] {
  ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// Removes a directory and everything in it.
func removeDirectory(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

/// Writes bytes to a file, replacing it; `true` on success.
func writeTestFile(_ path: String, _ bytes: [UInt8]) -> Bool {
  FileManager.default.createFile(atPath: path, contents: Data(bytes))
}
