import BackpropTensor

/// A matrix of non-negative numbers as a self-contained SVG heat map: one cell per entry, darker
/// for larger values, with row and column labels and each value, times 100 and rounded, written
/// in its cell (attention weights as percentages). Made for attention maps (rows: the positions
/// that attend; columns: the positions attended to).
///
/// ```swift
/// let map = HeatMap(
///   title: "which characters each answer digit attends to", rowLabels: ["0", "8", "5"],
///   columnLabels: Array("27+58=08").map(String.init), values: weights)
/// try map.write(to: "attention.svg")
/// ```
public struct HeatMap: Sendable {
  /// The heading above the map.
  public var title: String
  /// One label per row, shown on the left.
  public var rowLabels: [String]
  /// One label per column, shown on top.
  public var columnLabels: [String]
  /// `values[row][column]`; the darkest colour is the largest value, white is 0.
  public var values: [[Double]]

  /// - Parameters:
  ///   - title: The heading above the map.
  ///   - rowLabels: One label per row.
  ///   - columnLabels: One label per column.
  ///   - values: One row of `columnLabels.count` values per row label.
  /// - Precondition: The values form a `rowLabels.count × columnLabels.count` matrix.
  public init(title: String, rowLabels: [String], columnLabels: [String], values: [[Double]]) {
    check(
      values.count == rowLabels.count && values.allSatisfy { $0.count == columnLabels.count },
      "HeatMap: \(values.count) rows of \(Set(values.map(\.count)).sorted()) values for \(rowLabels.count) × \(columnLabels.count) labels"
    )
    self.title = title
    self.rowLabels = rowLabels
    self.columnLabels = columnLabels
    self.values = values
  }

  /// The map as SVG text.
  public var svg: String {
    let cell = 44.0
    let (left, top) = (60.0, 70.0)
    let width = Swift.max(Int(left + cell * Double(columnLabels.count) + 20), 8 * title.count + 40)
    let height = Int(top + cell * Double(rowLabels.count) + 20)
    let largest = Swift.max(values.flatMap { $0 }.filter(\.isFinite).max() ?? 1, 1e-12)
    var lines = [
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\">",
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
      "<text x=\"\(width / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(escaped(title))</text>",
    ]
    for (column, label) in columnLabels.enumerated() {
      let x = left + cell * (Double(column) + 0.5)
      lines.append(
        "<text x=\"\(x)\" y=\"\(top - 10)\" text-anchor=\"middle\" font-size=\"16\" font-family=\"monospace\">\(escaped(label))</text>"
      )
    }
    for (row, label) in rowLabels.enumerated() {
      let y = top + cell * Double(row)
      lines.append(
        "<text x=\"\(left - 12)\" y=\"\(y + cell / 2 + 5)\" text-anchor=\"end\" font-size=\"16\" font-family=\"monospace\">\(escaped(label))</text>"
      )
      for (column, value) in values[row].enumerated() {
        let share = value.isFinite ? Swift.min(Swift.max(value / largest, 0), 1) : 0
        // From white to a deep blue, rgb(33, 64, 154).
        let channel = { (dark: Double) in Int((255 - (255 - dark) * share).rounded()) }
        let x = left + cell * Double(column)
        lines.append(
          "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(channel(33)),\(channel(64)),\(channel(154)))\" stroke=\"#ddd\"/>"
        )
        let text = value.isFinite ? String(Int((value * 100).rounded())) : "–"
        lines.append(
          "<text x=\"\(x + cell / 2)\" y=\"\(y + cell / 2 + 4)\" text-anchor=\"middle\" font-size=\"11\" fill=\"\(share > 0.5 ? "white" : "#333")\">\(text)</text>"
        )
      }
    }
    lines.append("</svg>")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Writes ``svg`` to `path`, atomically.
  ///
  /// - Throws: ``FileError`` when the file cannot be written.
  public func write(to path: String) throws(FileError) {
    try writeTextFile(svg, to: path)
  }
}
