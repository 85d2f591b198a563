import BackpropAutodiff
import BackpropFiles

extension Variable {
  /// Writes ``backwardPassPage(title:)`` to `path`, atomically: a reader sees the old file or
  /// the new one. Open it in any current browser; it fetches nothing.
  ///
  /// - Parameters:
  ///   - path: The file to write, usually ending in `.html`; its directory must exist.
  ///   - title: The page's heading and title.
  /// - Throws: ``FileError`` when the file cannot be written.
  public func writeBackwardPassPage(to path: String, title: String = "The backward pass") throws(FileError) {
    try writeTextFile(backwardPassPage(title: title), to: path)
  }
}
