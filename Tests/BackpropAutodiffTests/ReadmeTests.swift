import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// The README's examples, line for line. Each README block tagged `<!-- snippet: NAME -->` is
/// copied between `// snippet: NAME` and `// end snippet` below (expectations may come between
/// its lines; a file path "x" is written `scratch.file("x")`; comments at the ends of lines are
/// not compared, nor imports, which a test has at the top of its file), and the test
/// "Every README snippet is here as written" fails when the two differ.
@Suite("README")
struct ReadmeTests {
  @Test("The thirty-second example computes what the README prints")
  func thirtySeconds() throws {
    // snippet: thirty-seconds
    let w = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    let x = Variable(try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
    let y = sigmoid(matmul(x.transposed(), w) + 1.5)
    let loss = squaredError(predicted: y, target: Tensor(zeros: [3, 2]))  // ½ Σ (p − t)²
    loss.backward()
    print(loss.value, w.grad!)  // 2.9999994828393675 [[5.23e-07, 3.42e-09], [2.06e-06, 1.36e-08]]
    #expect(isClose(loss.value.scalar, 2.9999994828393675, relativeTolerance: 1e-12))
    #expect(isClose(w.grad!.scalars[0], 5.23e-07, relativeTolerance: 1e-3))

    let a = Variable(-4.0, requiresGrad: true)  // micrograd's first test
    let z = 2 * a + 2 + a
    let q = relu(z) + z * a
    let h = relu(z * z)
    let out = h + q + q * a
    out.backward()
    print(out.value, a.grad!)  // -20.0 46.0
    // end snippet
    #expect(out.value == Tensor(-20.0) && a.grad == Tensor(46.0))
  }

  @Test("The network example learns XOR")
  func networks() {
    // snippet: networks
    var rng = SeededRandomNumberGenerator(seed: 11)
    let model = Sequential {
      Dense<Double>(inputSize: 2, outputSize: 4, activation: .tanh, using: &rng)
      Dense<Double>(inputSize: 4, outputSize: 1, activation: .sigmoid, using: &rng)
    }
    let x = Variable(Tensor<Double>([[0, 0], [0, 1], [1, 0], [1, 1]]))
    let y = Tensor<Double>([[0], [1], [1], [0]])
    let adam = Adam(parameters: model.parameters, learningRate: 0.05)
    for _ in 0..<1000 {
      adam.zeroGrad()
      let loss = meanSquaredError(predicted: model(x), target: y)
      loss.backward()
      adam.step()
    }
    // end snippet
    #expect(meanSquaredError(predicted: model(x), target: y).scalar < 0.01)
  }

  @Test("The file lines save, load and exchange as written")
  func files() throws {
    let scratch = ScratchDirectory()
    defer { scratch.cleanUp() }
    var rng = SeededRandomNumberGenerator(seed: 11)
    let model = Sequential {
      Dense<Double>(inputSize: 2, outputSize: 4, activation: .tanh, using: &rng)
      Dense<Double>(inputSize: 4, outputSize: 1, activation: .sigmoid, using: &rng)
    }
    let adam = Adam(parameters: model.parameters, learningRate: 0.05)
    let mlp = Sequential {
      Dense<Float>(inputSize: 64, outputSize: 128, activation: .relu, using: &rng)
      Dense<Float>(inputSize: 128, outputSize: 10, using: &rng)
    }
    let pytorch = URL(filePath: #filePath).deletingLastPathComponent()
      .appending(path: "../../Examples/Data/digits-mlp-pytorch.safetensors").standardized.path
    try FileManager.default.copyItem(atPath: pytorch, toPath: scratch.file("mlp.safetensors"))
    // snippet: files
    try Checkpoint.save(model, optimizer: adam, to: scratch.file("xor.safetensors"))
    try Checkpoint.load(from: scratch.file("xor.safetensors"), into: model, optimizer: adam)
    // Python: save_file(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).state_dict(), …)
    try StateDictionary.load(from: scratch.file("mlp.safetensors"), into: mlp, keys: .renumbered([0, 2]))
    let logits = mlp(Variable(Tensor<Float>(zeros: [1, 64]))).value
    try NumPy.write(logits, to: scratch.file("logits.npy"))  // numpy.load("logits.npy")
    // end snippet
    #expect(try NumPy.read(from: scratch.file("logits.npy"), as: Float.self) == logits)
    #expect(adam.stepCount == 0)
  }

  @Test("The derivation check passes")
  func derivation() {
    // snippet: derivation
    let w = Variable(Tensor<Double>([[0.1, 0.2], [0.3, 0.4]]), requiresGrad: true)
    let x = Tensor<Double>([[1, 2]])
    let xw = matmul(x, w.value)  // J = ½ Σ (xW)²
    let report = checkDerivation([
      HandGradient("dJ/dW", of: w, equals: matmul(x, xw, transposeA: true)),  // xᵀ(xW)
      HandGradient("dJ/d(xW)", atProbe: "xW", equals: xw),  // at an intermediate
    ]) { probe in
      squaredError(predicted: probe("xW", matmul(Variable(x), w)), target: Tensor(zeros: [1, 2]))
    }
    #expect(report.passed, "\(report)")
    // end snippet
  }

  @Test("Tensor(_:) takes flat arrays and nested literals")
  func tensorInitialisers() {
    #expect(Tensor<Double>([1, 2, 3]).shape == [3])
    #expect(Tensor<Double>([[1, 2], [3, 4]]).shape == [2, 2])
  }

  @Test("The higher-order example compiles and computes what it says")
  func higherOrder() {
    // snippet: higher-order
    let x = Variable(2.0, requiresGrad: true)
    let y = pow(x, 3)
    let dx = gradients(of: y, withRespectTo: [x], createGraph: true)[0]  // 3x² = 12, a Variable
    let d2x = gradients(of: dx, withRespectTo: [x])[0]  // 6x  = 12
    let h = hessian(of: { logSumExp($0, alongAxes: [0]).sum() }, at: Tensor<Double>([0.5, -1, 2]))
    // end snippet
    #expect(dx.value == Tensor(12.0) && d2x.value == Tensor(12.0))
    #expect(h.shape == [3, 3])
  }
}

extension ReadmeTests {
  @Test("The forward-mode example computes what it says")
  func forwardMode() {
    // snippet: forward-mode
    let x = Variable(Tensor<Double>([0.5, 1.5]), tangent: Tensor([1, 0]))
    let y = (sin(x) * x).sum()
    let slope = y.tangent!.value  // ∂y/∂x₀ = cos 0.5 · 0.5 + sin 0.5
    let (value, jv) = jvp(of: { tanh($0) }, at: Tensor<Double>([0, 1]), tangent: Tensor([1, 1]))
    // end snippet
    #expect(
      isClose(
        slope.scalar, Foundation.cos(0.5) * 0.5 + Foundation.sin(0.5), relativeTolerance: 1e-15))
    #expect(value == Tensor([0, Foundation.tanh(1)]))
    #expect(isClose(jv, Tensor([1, 1 - Foundation.tanh(1) * Foundation.tanh(1)]), relativeTolerance: 1e-15))
  }
}

/// The README's data-parallel example's helpers: a model, its batches and its loss.
enum DataParallelExample {
  static func makeModel() -> Sequential<Double> {
    var rng = SeededRandomNumberGenerator(seed: 1)
    return Sequential { Dense<Double>(inputSize: 2, outputSize: 1, using: &rng) }
  }
  static var batches: Minibatches<Double> {
    var rng = SeededRandomNumberGenerator(seed: 2)
    return Minibatches(
      tensors: [Tensor(randomUniform: [8, 2], using: &rng), Tensor(randomUniform: [8, 1], using: &rng)],
      batchSize: 4, shuffledUsing: &rng)
  }
  static func loss(_ model: Sequential<Double>, _ batch: Minibatches<Double>.Batch) -> Variable<Double> {
    meanSquaredError(predicted: model(Variable(batch.tensors[0])), target: batch.tensors[1])
  }
}

extension ReadmeTests {
  @Test("The data-parallel example runs on two in-process ranks")
  func dataParallel() throws {
    let makeModel = DataParallelExample.makeModel
    let loss = DataParallelExample.loss
    let batches = DataParallelExample.batches
    // snippet: data-parallel
    try LocalCommunicator.run(ranks: 2) { communicator in  // or: let communicator = try MPICommunicator()
      let model = makeModel()  // any seed: rank 0's values win
      let parallel = try DataParallel(
        model: model, optimizer: Adam(parameters: model.parameters), communicator: communicator)
      for batch in batches.sharded(rank: communicator.rank, of: communicator.size) {
        parallel.zeroGrad()
        loss(model, batch).backward()
        try parallel.step()  // averages the gradients, then steps
      }
    }
    // end snippet
  }
}

/// The README's and the DocC articles' tagged code blocks against their copies in the tests.
@Suite("README snippets")
struct ReadmeSnippetTests {
  static let root = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../..").standardized

  /// A line as compared: no indentation, single spaces, no comment at its end, and
  /// `scratch.file("x")` read as `"x"`.
  static func normalized(_ line: Substring) -> String {
    var text = line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    if let comment = text.range(of: #"\s+//.*$"#, options: .regularExpression) {
      text.removeSubrange(comment)
    }
    while let range = text.range(of: #"scratch\.file\(("[^"]*")\)"#, options: .regularExpression) {
      text.replaceSubrange(range, with: text[range].dropFirst("scratch.file(".count).dropLast())
    }
    return text
  }

  /// The code blocks tagged `<!-- snippet: NAME -->` in a Markdown file, by name, and the names
  /// of every Swift block, tagged or not.
  static func markdownSnippets(_ path: String) throws -> (tagged: [String: [String]], untagged: Int) {
    let lines = try String(contentsOf: root.appending(path: path), encoding: .utf8).split(
      separator: "\n", omittingEmptySubsequences: false)
    var (tagged, untagged): ([String: [String]], Int) = ([:], 0)
    var index = 0
    while index < lines.count {
      guard lines[index] == "```swift" else {
        index += 1
        continue
      }
      let tag = index > 0 ? lines[index - 1] : ""
      var block: [String] = []
      index += 1
      while index < lines.count && lines[index] != "```" {
        block.append(normalized(lines[index]))
        index += 1
      }
      if tag.hasPrefix("<!-- snippet: ") && tag.hasSuffix(" -->") {
        tagged[String(tag.dropFirst("<!-- snippet: ".count).dropLast(" -->".count))] = block.filter {
          !$0.isEmpty && !$0.hasPrefix("import ")
        }
      } else {
        untagged += 1
      }
    }
    return (tagged, untagged)
  }

  /// The regions between `// snippet: NAME` and `// end snippet` in every test file.
  static func testSnippets() throws -> [String: [String]] {
    var regions: [String: [String]] = [:]
    let files = try #require(
      FileManager.default.enumerator(at: root.appending(path: "Tests"), includingPropertiesForKeys: nil))
    for case let file as URL in files where file.pathExtension == "swift" {
      var current: String?
      for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(normalized) {
        if line.hasPrefix("// snippet: ") {
          current = String(line.dropFirst("// snippet: ".count))
          regions[current!] = []
        } else if line == "// end snippet" {
          current = nil
        } else if let name = current {
          regions[name]!.append(line)
        }
      }
    }
    return regions
  }

  /// `true` when `needle`'s lines appear in `haystack` in order (other lines may come between).
  static func isSubsequence(_ needle: [String], of haystack: [String]) -> Bool {
    var remaining = haystack[...]
    for line in needle {
      guard let found = remaining.firstIndex(of: line) else { return false }
      remaining = remaining[(found + 1)...]
    }
    return true
  }

  @Test("Every tagged snippet of the README and the DocC articles is in a test as written")
  func snippetsMatch() throws {
    let tests = try Self.testSnippets()
    let readme = try Self.markdownSnippets("README.md")
    #expect(readme.untagged == 0, "a Swift block in README.md has no <!-- snippet: NAME --> tag")
    var documents = [("README.md", readme.tagged)]
    let articles = try FileManager.default.contentsOfDirectory(
      atPath: Self.root.appending(path: "Sources/Backprop/Backprop.docc").path)
    for article in articles.sorted() where article.hasSuffix(".md") {
      documents.append(
        (article, try Self.markdownSnippets("Sources/Backprop/Backprop.docc/" + article).tagged))
    }
    for (document, snippets) in documents {
      for (name, lines) in snippets where name != "dependency" {
        let copy = try #require(tests[name], "\(document)'s snippet \"\(name)\" has no copy in the tests")
        #expect(
          Self.isSubsequence(lines, of: copy),
          "\(document)'s snippet \"\(name)\" differs from its test:\n\(lines.joined(separator: "\n"))")
      }
    }
    let started = try Self.markdownSnippets("Sources/Backprop/Backprop.docc/GettingStarted.md")
    #expect(
      started.tagged["dependency"] != nil && started.tagged["dependency"] == readme.tagged["dependency"])
  }
}
