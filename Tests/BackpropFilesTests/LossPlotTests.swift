import BackpropFiles
import BackpropTensor
import BackpropTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Parses XML and collects the elements it meets.
final class XMLCollector: NSObject, XMLParserDelegate {
  var elements: [(name: String, attributes: [String: String])] = []
  var text = ""
  func parser(
    _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String]
  ) {
    elements.append((elementName, attributes))
  }
  func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

  /// The collected elements, or `nil` when `xml` is not well-formed.
  static func parse(_ xml: String) -> XMLCollector? {
    let collector = XMLCollector()
    let parser = XMLParser(data: Data(xml.utf8))
    parser.delegate = collector
    return parser.parse() ? collector : nil
  }
}

@Suite("LossPlot: an SVG plot of loss per epoch")
struct LossPlotTests {
  @Test("The SVG is well-formed XML with one point per epoch", arguments: [false, true])
  func wellFormed(logarithmic: Bool) throws {
    let losses = (0..<250).map { 0.7 * Foundation.exp(-Double($0) / 40) + 0.001 }
    let plot = LossPlot(title: "loss <&> \"quotes\"", losses: losses, logarithmic: logarithmic)
    let xml = try #require(XMLCollector.parse(plot.svg))
    #expect(xml.elements.first?.name == "svg")
    let polylines = xml.elements.filter { $0.name == "polyline" }
    #expect(polylines.count == 1)
    let points = try #require(polylines.first?.attributes["points"]).split(separator: " ")
    #expect(points.count == losses.count)
    // x grows with the epoch; y shrinks as the loss falls (SVG's y axis points down).
    let coordinates = points.map { $0.split(separator: ",").map { Double($0)! } }
    #expect(zip(coordinates, coordinates.dropFirst()).allSatisfy { $0[0] < $1[0] && $0[1] < $1[1] })
    #expect(coordinates.allSatisfy { $0[0] >= 0 && $0[0] <= 640 && $0[1] >= 0 && $0[1] <= 360 })
    #expect(xml.text.contains("loss <&> \"quotes\""))
  }

  @Test("Losses the axis cannot show are left out; a constant loss still plots")
  func edgeCases() throws {
    let plot = LossPlot(title: "t", losses: [1, .nan, 0, 2, .infinity], logarithmic: true)
    #expect(plot.points.map(\.epoch) == [1, 4])
    #expect(
      LossPlot(title: "t", losses: [1, .nan, 0, 2], logarithmic: false).points.map(\.epoch) == [1, 3, 4])
    let flat = try #require(XMLCollector.parse(LossPlot(title: "flat", losses: [3, 3, 3]).svg))
    let points = try #require(flat.elements.first { $0.name == "polyline" }?.attributes["points"])
    #expect(points.split(separator: " ").count == 3)
    #expect(XMLCollector.parse(LossPlot(title: "empty", losses: []).svg) != nil)
  }

  @Test("write(to:) writes the file, and a missing directory is a thrown error")
  func writing() throws {
    let directory = "/tmp/backprop-plot-tests-\(UInt32.random(in: 0...UInt32.max))"
    #expect(mkdirTest(directory))
    defer { removeDirectory(directory) }
    let plot = LossPlot(title: "t", losses: [3, 2, 1])
    try plot.write(to: directory + "/loss.svg")
    #expect(try String(contentsOfFile: directory + "/loss.svg", encoding: .utf8) == plot.svg)
    #expect(throws: FileError.self) { try plot.write(to: directory + "/missing/loss.svg") }
  }
}

@Suite("Graphviz: DOT files, rendered when dot is installed")
struct GraphvizWriterTests {
  @Test("write(_:to:formats:) always writes the DOT text and renders SVG when it can")
  func write() throws {
    let directory = "/tmp/backprop-graphviz-tests-\(UInt32.random(in: 0...UInt32.max))"
    #expect(mkdirTest(directory))
    defer { removeDirectory(directory) }
    let dot = "digraph G {\n  x [label=\"x\"];\n  y [label=\"y = x·x\"];\n  x -> y;\n}\n"
    let written = try Graphviz.write(dot, to: directory + "/graph")
    #expect(written.first == directory + "/graph.dot")
    #expect(try String(contentsOfFile: directory + "/graph.dot", encoding: .utf8) == dot)
    if Graphviz.isInstalled {
      #expect(written == [directory + "/graph.dot", directory + "/graph.svg"])
      let svg = try String(contentsOfFile: directory + "/graph.svg", encoding: .utf8)
      #expect(XMLCollector.parse(svg) != nil)
    } else {
      #expect(written.count == 1)
    }
    #expect(throws: FileError.self) { try Graphviz.write(dot, to: directory + "/missing/graph") }
  }
}
