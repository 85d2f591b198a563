import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// The data of a backward-pass page: the JSON in its `<script id="data">` element.
func pageData(_ html: String) throws -> [String: Any] {
  let start = try #require(html.range(of: #"<script id="data" type="application/json">"#))
  let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
  let json = String(html[start.upperBound..<end.lowerBound])
  return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
}

/// A tensor of the page's data as numbers ("NaN" and "±Infinity" are strings).
func pageNumbers(_ tensor: Any?) -> [Double] {
  guard let tensor = tensor as? [String: Any], let elements = tensor["elements"] as? [Any] else { return [] }
  return elements.map { element in
    if let number = element as? NSNumber { return number.doubleValue }
    return Double(element as? String ?? "") ?? .nan
  }
}

@Suite("The backward-pass page")
struct BackwardPassPageTests {
  /// A 1-2-1 sigmoid network whose hidden layer is read twice (by the output and by a penalty),
  /// so that a gradient adds up from two contributions.
  func loss() -> (loss: Variable<Double>, parameters: [Variable<Double>]) {
    let x = Variable(try! Tensor<Double>(shape: [1, 2], scalars: [0.05, 0.10]), name: "x")
    let w1 = Variable(
      try! Tensor<Double>(shape: [2, 2], scalars: [0.15, 0.25, 0.2, 0.3]), requiresGrad: true, name: "W1")
    let w2 = Variable(
      try! Tensor<Double>(shape: [2, 1], scalars: [0.4, 0.45]), requiresGrad: true, name: "W2")
    let h = sigmoid(matmul(x, w1)).named("h")
    let o = sigmoid(matmul(h, w2)).named("o")
    let loss = (((o - 0.01) * (o - 0.01)).sum() + (h * h).sum() * 0.1).named("J")
    return (loss, [w1, w2])
  }

  @Test("The steps' contributions add up to the tape's gradient of every variable")
  func contributionsAddUp() throws {
    let (loss, parameters) = loss()
    let data = try pageData(loss.backwardPassPage(title: "test"))
    let nodes = try #require(data["nodes"] as? [[String: Any]])
    let steps = try #require(data["backward"] as? [[String: Any]])
    var sums: [Int: [Double]] = [nodes.count - 1: [1]]
    var added = 0
    for step in steps {
      for term in try #require(step["terms"] as? [[String: Any]]) {
        let input = try #require(term["input"] as? Int)
        let contribution = pageNumbers(term["contribution"])
        if let before = sums[input] {
          sums[input] = zip(before, contribution).map(+)
          added += 1
          #expect(term["adds"] as? Bool == true)
        } else {
          sums[input] = contribution
        }
      }
    }
    #expect(added > 0)
    let tape = try #require((data["traces"] as? [String: Any])?["tape"] as? [String: Any])
    for (key, value) in tape {
      let node = try #require(Int(key))
      #expect(
        isClose(Tensor(sums[node] ?? []), Tensor(pageNumbers(value)), relativeTolerance: 1e-12), "node \(key)"
      )
    }
    // Every parameter's gradient is there, and equals backward()'s.
    loss.backward()
    for parameter in parameters {
      let position = try #require(nodes.firstIndex { $0["name"] as? String == parameter.name })
      #expect(
        isClose(Tensor(sums[position] ?? []), Tensor(parameter.grad!.scalars), relativeTolerance: 1e-12))
    }
  }

  @Test("Names and titles with HTML are escaped: a variable named <script> does not run")
  func escaping() throws {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true, name: "</script><script>alert(1)</script>")
    let html = (x * x).sum().named("<img src=x onerror=alert(2)>").backwardPassPage(
      title: "<b>title</b> & more")
    #expect(html.components(separatedBy: "<script").count - 1 == 2)
    #expect(!html.contains("<img"))
    #expect(!html.contains("<b>"))
    #expect(html.contains("&lt;b&gt;title&lt;/b&gt; &amp; more"))
    let data = try pageData(html)
    let names = (data["nodes"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    #expect(names.contains("</script><script>alert(1)</script>"))
  }

  @Test("Nothing fetched: no address outside the page but SVG's namespace")
  func selfContained() {
    let html = loss().loss.backwardPassPage()
    let addresses = html.components(separatedBy: "://").count - 1
    #expect(addresses == html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
    #expect(!html.contains(" src=") && !html.contains("<link") && !html.contains("@import"))
  }

  @Test("A graph with nothing recorded, a loss of several elements, NaN, and a large graph (collapsed)")
  func edges() throws {
    let constant = try pageData(Variable(Tensor<Double>([1, 2])).backwardPassPage())
    #expect(constant["recorded"] as? Bool == false)
    #expect((constant["backward"] as? [Any])?.isEmpty == true)

    let w = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let several = try pageData((w * 3).backwardPassPage())
    #expect(several["seed"] as? String == "ones of shape [2]")

    let nan = try pageData((w * Double.nan).sum().backwardPassPage())
    let values = (nan["nodes"] as? [[String: Any]] ?? []).map { pageNumbers($0["value"]) }
    #expect(values.contains { $0.contains { $0.isNaN } })

    var chain = w
    for _ in 0..<400 { chain = chain * 1.0001 }
    let large = try pageData(chain.sum().backwardPassPage())
    #expect(large["drawn"] as? Bool == false)
    let groups = try #require(large["groups"] as? [[String: Any]])
    #expect(groups.count <= 101)
    #expect((groups.first?["label"] as? String)?.hasPrefix("repetitions 1–5: * constant") == true)
    let members = groups.flatMap { $0["members"] as? [Int] ?? [] }
    #expect(Set(members).count == (large["nodes"] as? [Any])?.count)
    #expect((large["nodes"] as? [Any])?.count ?? 0 > backwardPassPageNodeLimit)
  }

  @Test("A parameter's chain-rule paths are on the page, and sum to the tape's gradient")
  func paths() throws {
    let (loss, _) = loss()
    let data = try pageData(loss.backwardPassPage())
    let paths = try #require((data["traces"] as? [String: Any])?["paths"] as? [String: Any])
    #expect(paths.count == 2)
    for case let elements as [[String: Any]] in paths.values {
      for element in elements {
        let sum = try #require(element["sum"] as? Double)
        let tape = try #require(element["tape"] as? Double)
        #expect(isClose(sum, tape, relativeTolerance: 1e-12))
      }
    }
  }
}
