import BackpropTensor

/// Text files of labelled samples: one sample per line, its features as comma-separated numbers
/// followed by an integer label (the UCI and scikit-learn `digits.csv` layout). No header.
public enum LabeledCSV {
  /// The largest file the reader accepts: 1 GiB.
  public static let sizeLimit = 1 << 30

  /// Every sample of the file: features `[N, F]` and N labels.
  ///
  /// Every line must have the same number of fields, at least two; every feature a finite
  /// number; every label a non-negative integer. Empty lines at the end are ignored. Nothing is
  /// returned unless the whole file is valid.
  ///
  /// - Parameters:
  ///   - path: The file.
  ///   - scalarType: The scalar type of the features.
  /// - Throws: ``FileError`` naming the line and the problem.
  public static func read<Scalar: TensorScalar>(from path: String, as scalarType: Scalar.Type = Scalar.self)
    throws(FileError) -> (features: Tensor<Scalar>, labels: [Int])
  {
    try parse(readDataFile(path, limit: sizeLimit), path: path)
  }

  /// Parses the bytes of a file; `path` only names it in errors.
  static func parse<Scalar: TensorScalar>(_ bytes: [UInt8], path: String) throws(FileError)
    -> (features: Tensor<Scalar>, labels: [Int])
  {
    var features: [Scalar] = []
    var labels: [Int] = []
    var width: Int? = nil
    var lineNumber = 0
    var emptyLine: Int? = nil
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      lineNumber += 1
      var line = line
      if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
      if line.isEmpty {
        emptyLine = emptyLine ?? lineNumber
        continue
      }
      func malformed(_ reason: String) -> FileError {
        FileError(path: path, place: .line(lineNumber), .malformed(reason))
      }
      if let emptyLine { throw malformed("a sample after the empty line \(emptyLine)") }
      let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
      guard fields.count >= 2 else {
        throw malformed("\(fields.count) field; a sample needs features and a label")
      }
      if let width, fields.count != width {
        throw malformed("\(fields.count) fields where the first line has \(width)")
      }
      width = fields.count
      for field in fields.dropLast() {
        guard let value = Double(String(decoding: field, as: UTF8.self).trimmingSpaces), value.isFinite else {
          throw malformed("\"\(String(decoding: field.prefix(20), as: UTF8.self))\" is not a finite number")
        }
        features.append(Scalar(value))
      }
      let labelText = String(decoding: fields.last!, as: UTF8.self).trimmingSpaces
      guard let label = Int(labelText), label >= 0 else {
        throw malformed("label \"\(labelText.prefix(20))\" is not a non-negative integer")
      }
      labels.append(label)
    }
    guard let width, !labels.isEmpty else {
      throw FileError(path: path, place: .line(1), .malformed("the file has no samples"))
    }
    return (try! Tensor(shape: [labels.count, width - 1], scalars: features), labels)
  }

}

extension String {
  /// Without leading and trailing spaces and tabs.
  fileprivate var trimmingSpaces: String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
      return ""
    }
    return String(self[start...end])
  }
}
