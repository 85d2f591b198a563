import BackpropFiles
import BackpropTensor
import BackpropTestSupport
import Testing

@Suite("HeatMap")
struct HeatMapTests {
  @Test("One cell per value, shaded by size, labels escaped, values as percentages")
  func svg() throws {
    let map = HeatMap(
      title: "a < b", rowLabels: ["→0", "&"], columnLabels: ["x", "y", "z"],
      values: [[0, 0.5, 1], [0.25, .nan, 0]])
    let svg = map.svg
    #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
    #expect(svg.components(separatedBy: "<rect x=").count - 1 == 6)
    #expect(svg.contains("a &lt; b") && svg.contains(">&amp;<"))
    #expect(svg.contains("fill=\"rgb(33,64,154)\"") && svg.contains("fill=\"rgb(255,255,255)\""))
    #expect(svg.contains(">50<") && svg.contains(">–<"))
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    try map.write(to: scratch.file("map.svg"))
    #expect(scratch.contents == ["map.svg"])
  }
}
