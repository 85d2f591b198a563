import BackpropFiles

extension Checkpoint {
  /// Writes `bytes` so that `path` always holds either the old or the new checkpoint (see
  /// `writeFileAtomically(_:to:simulatedCrashAfter:)`). Errors name `path`, never the temporary
  /// file.
  static func writeAtomically(
    _ bytes: [UInt8], to path: String, simulatedCrashAfter: Int? = nil
  ) throws(FileError) {
    try writeFileAtomically(bytes, to: path, simulatedCrashAfter: simulatedCrashAfter)
  }

  /// The whole file, if it is no larger than `limit` bytes (`readDataFile(_:limit:)`).
  static func readFile(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
    try readDataFile(path, limit: limit)
  }
}
