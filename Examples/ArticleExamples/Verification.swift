import Backprop
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One claim of an article, with the value derived by hand, the value the tape gives, and
/// whether they agree.
public struct VerificationRow: Sendable {
  /// The article, e.g. `"BrainsToBytes"`.
  public let article: String
  /// What the article claims.
  public let claim: String
  /// The hand-derived (or the article's) value, formatted.
  public let hand: String
  /// The tape's value, formatted.
  public let tape: String
  /// `true` when they agree within the check's tolerance.
  public let passed: Bool
  /// The details behind a failure (a derivation report), empty when it passed.
  public let details: String

  /// A row; `details` is shown under a failing row.
  public init(article: String, claim: String, hand: String, tape: String, passed: Bool, details: String = "")
  {
    self.article = article
    self.claim = claim
    self.hand = hand
    self.tape = tape
    self.passed = passed
    self.details = passed ? "" : details
  }
}

/// Where an example writes its narrative, its training progress and its files (graph pictures,
/// loss plots); tests pass ``discard``.
public struct ExampleOutput: Sendable {
  let write: @Sendable (String) -> Void
  /// Show a progress line during long training runs.
  let showsProgress: Bool
  /// The directory for the example's files, or `nil` to write none.
  let filesDirectory: String?

  /// Writes to a closure.
  ///
  /// - Parameters:
  ///   - showsProgress: Report training progress on standard output; `false` by default.
  ///   - filesDirectory: Where to write graph pictures and loss plots; `nil` (none) by default.
  ///   - write: Receives each line of the narrative.
  public init(
    showsProgress: Bool = false, filesDirectory: String? = nil, _ write: @escaping @Sendable (String) -> Void
  ) {
    self.write = write
    self.showsProgress = showsProgress
    self.filesDirectory = filesDirectory
  }

  /// Standard output, with training progress, writing files to `output/` in the current
  /// directory (ignored by git).
  public static let standardOutput = ExampleOutput.standardOutput(filesDirectory: "output")

  /// Standard output, with training progress, writing files to `filesDirectory`.
  public static func standardOutput(filesDirectory: String) -> ExampleOutput {
    ExampleOutput(showsProgress: true, filesDirectory: filesDirectory) { print($0) }
  }

  /// Standard output, writing files where the command line's `--output DIR` says (`output/` by
  /// default). `Scripts/update-pictures` runs `ORGate --output Examples/Pictures`.
  public static func fromCommandLine(_ arguments: [String] = CommandLine.arguments) -> ExampleOutput {
    guard let flag = arguments.firstIndex(of: "--output"), flag + 1 < arguments.count else {
      return standardOutput
    }
    return standardOutput(filesDirectory: arguments[flag + 1])
  }
  /// Nowhere.
  public static let discard = ExampleOutput { _ in }

  func callAsFunction(_ line: String = "") { write(line) }

  /// A progress reporter for a run of `epochs`, when this output shows progress.
  func progress(epochs: Int) -> TrainingProgress? {
    showsProgress ? TrainingProgress(totalEpochs: epochs) : nil
  }

  /// Writes a loss plot and a graph picture into ``filesDirectory`` and says where they went.
  ///
  /// - Parameters:
  ///   - name: The files' base name, e.g. `"or-gate"`: `<name>-loss.svg`, `<name>-graph.dot`
  ///     and, with Graphviz installed, `<name>-graph.svg`.
  ///   - plot: The loss plot.
  ///   - graph: A graph in the DOT language.
  func writeFiles(_ name: String, plot: LossPlot, graph: String) {
    guard let directory = filesDirectory else { return }
    do {
      try makeDirectory(directory)
      let base = directory + "/" + name
      try plot.write(to: base + "-loss.svg")
      let pictures = try Graphviz.write(graph, to: base + "-graph")
      if let svg = pictures.first(where: { $0.hasSuffix(".svg") }) { try stamp(svg, source: graph) }
      let files = [base + "-loss.svg"] + pictures
      write(
        "Wrote " + files.joined(separator: ", ") + (pictures.count == 1 ? " (install Graphviz for SVG)" : ""))
    } catch {
      write("Could not write the example's files: \(error)")
    }
  }
}

extension ExampleOutput {
  /// Writes the backward-pass page of `loss` (see `Variable.backwardPassPage(title:)`) into
  /// ``filesDirectory`` as `<name>-backward.html` and says where it went.
  func writePage(_ name: String, loss: Variable<Double>, title: String) {
    guard let directory = filesDirectory else { return }
    do {
      try makeDirectory(directory)
      let path = directory + "/" + name + "-backward.html"
      try loss.writeBackwardPassPage(to: path, title: title)
      write("Wrote \(path): open it in a browser to step through the backward pass")
    } catch {
      write("Could not write the backward-pass page: \(error)")
    }
  }
}

/// The comment that ties a rendered graph picture to its DOT source: an SVG that carries it was
/// rendered from exactly that text. The test of the README's pictures compares it with the graph
/// the code draws now.
public func sourceStamp(of dot: String) -> String {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
  for byte in dot.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
  let hex = String(hash, radix: 16)
  return "<!-- DOT source FNV-1a \(String(repeating: "0", count: 16 - hex.count) + hex) -->"
}

/// The text that ties a screenshot of a backward-pass page to the page: `Scripts/update-pictures`
/// writes it into the PNG (a tEXt chunk), and the test of the README's pictures looks for it.
public func pageStamp(of html: String) -> String {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
  for byte in html.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
  let hex = String(hash, radix: 16)
  return "page source FNV-1a " + String(repeating: "0", count: 16 - hex.count) + hex
}

/// Adds ``sourceStamp(of:)`` after the XML declaration of the SVG file at `path`.
func stamp(_ path: String, source dot: String) throws {
  var svg = try String(contentsOfFile: path, encoding: .utf8)
  let end = svg.range(of: "?>\n")?.upperBound ?? svg.startIndex
  svg.insert(contentsOf: sourceStamp(of: dot) + "\n", at: end)
  try svg.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Creates `path` and its parents when they do not exist.
func makeDirectory(_ path: String) throws(FileError) {
  var prefix = path.hasPrefix("/") ? "/" : ""
  for component in path.split(separator: "/") {
    prefix += component + "/"
    if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
      throw FileError(path: prefix, .io(String(cString: strerror(errno))))
    }
  }
}

/// The verification table: one line per claim, ✓ or ✗, and the details of any failure.
public func verificationTable(_ rows: [VerificationRow]) -> String {
  let headers = ["article", "claim", "hand", "tape", ""]
  let cells = rows.map { [$0.article, $0.claim, $0.hand, $0.tape, $0.passed ? "✓" : "✗"] }
  let widths = headers.indices.map { column in
    ([headers[column]] + cells.map { $0[column] }).map(\.count).max() ?? 0
  }
  func line(_ cells: [String]) -> String {
    zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
  }
  var lines = [line(headers), widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")]
  for (row, rowCells) in zip(rows, cells) {
    lines.append(line(rowCells))
    if !row.details.isEmpty {
      lines += row.details.split(separator: "\n").map { "    " + $0 }
    }
  }
  let failed = rows.filter { !$0.passed }.count
  lines.append(
    failed == 0 ? "\(rows.count) claims, all ✓" : "\(rows.count) claims, \(failed) ✗")
  return lines.joined(separator: "\n")
}

/// `x` with `digits` decimals, e.g. `fixed(0.64565, 3) == "0.646"`.
public func fixed(_ x: Double, _ digits: Int) -> String { formatFixed(x, digits) }

/// A short description of a difference, e.g. `"2.8e-17"`.
func magnitude(_ x: Double) -> String {
  guard x != 0 else { return "0" }
  let (mantissa, exponent) = scientific(x)
  return "\(fixed(mantissa, 1))e\(exponent)"
}

/// Collects derivation reports (for example one per training sample) and turns them into rows.
struct DerivationLog {
  var elements: [DerivationReport<Double>.Element] = []
  var firstFailure: String = ""
  var reports = 0

  mutating func add(_ report: DerivationReport<Double>) {
    elements += report.elements
    reports += 1
    if !report.passed && firstFailure.isEmpty { firstFailure = "report \(reports): \(report)" }
  }

  /// One row per claim name, showing the first element and the largest |hand − tape|.
  func rows(_ article: String, claims: [(name: String, claim: String)]) -> [VerificationRow] {
    claims.map { name, claim in
      let elements = elements.filter { $0.name == name }
      let first = elements.first
      let worst = elements.map { Swift.abs($0.hand - $0.tape) }.max() ?? 0
      return VerificationRow(
        article: article, claim: claim, hand: first.map { fixed($0.hand, 6) } ?? "—",
        tape: (first.map { fixed($0.tape, 6) } ?? "—")
          + (elements.count > 1 ? " (\(elements.count) values, max |Δ| \(magnitude(worst)))" : ""),
        passed: !elements.isEmpty && elements.allSatisfy(\.passed), details: firstFailure)
    }
  }
}

/// A `[rows, columns]` tensor from equal-length rows.
public func matrix(_ rows: [[Double]]) -> Tensor<Double> {
  Tensor(rows.flatMap { $0 }).reshaped(to: [rows.count, rows.first?.count ?? 0])
}

/// Prints the verification table and exits: status 0 when every row passed, 1 otherwise.
public func printTableAndExit(_ rows: [VerificationRow]) -> Never {
  print(verificationTable(rows))
  exit(rows.allSatisfy(\.passed) ? 0 : 1)
}
