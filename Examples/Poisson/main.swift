// A physics-informed network solves a differential equation:
// `swift run -c release Poisson [--steps N] [--output DIR]`.
//
// The equation is u″(x) = −π² sin(πx) on [0, 1] with u(0) = u(1) = 0, whose solution is sin πx.
// A 1-32-32-1 tanh network u(x) is trained so that the equation holds at collocation points:
// the loss contains u″, the network differentiated twice with respect to its input, and
// training differentiates that loss with respect to the weights. So it needs both modes:
//
// - u′ is the gradient of Σ u(xᵢ) with respect to the points (reverse mode, recorded);
// - u″ is the tangent of u′ along the direction 1 (forward mode over reverse: the points are
//   dual variables, and every operation of the network and of its backward pass carries a
//   tangent);
// - the loss's gradient with respect to the weights is a backward pass through all of that.
//
// Prints progress and `poisson: max |u − sin(πx)| = <e> at 101 points (<t> s)`, and writes a
// plot of u against sin πx to DIR (default output/). Exits 1 when the error is above 1e-3.
import Backprop
import Foundation

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let steps = option("--steps").flatMap(Int.init) ?? 3000
let outputDirectory = option("--output") ?? "output"

var rng = SeededRandomNumberGenerator(seed: 7)
let network = Sequential {
  Dense<Double>(inputSize: 1, outputSize: 32, activation: .tanh, using: &rng)
  Dense<Double>(inputSize: 32, outputSize: 32, activation: .tanh, using: &rng)
  Dense<Double>(inputSize: 32, outputSize: 1, using: &rng)
}
let adam = Adam(parameters: network.parameters, learningRate: 5e-3)

// Collocation points inside (0, 1), and the two boundary points.
let interior = Tensor<Double>((1...64).map { Double($0) / 65 }).reshaped(to: [64, 1])
let boundary = Variable(Tensor<Double>([0, 1]).reshaped(to: [2, 1]))
// The right-hand side f(x) = −π² sin(πx) at the collocation points.
let source = interior.map { -Double.pi * Double.pi * sin(Double.pi * $0) }

/// u″ at `points`: the tangent, along 1, of the gradient of Σ u(xᵢ) with respect to the points.
/// Each u(xᵢ) depends on xᵢ alone, so that gradient is u′(xᵢ) point by point.
@MainActor
func secondDerivative(at points: Tensor<Double>) -> Variable<Double> {
  let x = Variable(points, tangent: Tensor(repeating: 1, shape: points.shape), requiresGrad: true)
  let slope = gradients(of: network(x).sum(), withRespectTo: [x], createGraph: true)[0]
  return slope.tangent!
}

/// The mean squared residual of the equation at the collocation points, plus the boundary
/// conditions' squares.
@MainActor
func physicsLoss() -> Variable<Double> {
  let residual = secondDerivative(at: interior) - Variable(source)
  let edges = network(boundary)
  return (residual * residual).mean() + (edges * edges).mean() * 100
}

let start = Date()
for step in 1...steps {
  if step == steps * 2 / 3 { adam.learningRate = 1e-3 }
  adam.zeroGrad()
  let loss = physicsLoss()
  loss.backward()
  adam.step()
  if step == 1 || step % 500 == 0 { print("step \(step): loss \(loss.scalar)") }
}
let seconds = Date().timeIntervalSince(start)

// The error at 101 evenly spaced points of [0, 1], the ends included.
let grid = Tensor<Double>((0...100).map { Double($0) / 100 }).reshaped(to: [101, 1])
let solution = withoutGradients { network(Variable(grid)).value }.scalars
let exact = grid.scalars.map { sin(Double.pi * $0) }
let error = zip(solution, exact).map { abs($0 - $1) }.max()!
print(
  "poisson: max |u − sin(πx)| = \(String(format: "%.2e", error)) at 101 points (\(String(format: "%.1f", seconds)) s)"
)

/// u and sin πx on [0, 1] as an SVG line plot.
func plot(_ solution: [Double], against exact: [Double]) -> String {
  let (width, height, margin) = (640.0, 360.0, 50.0)
  func point(_ index: Int, _ value: Double) -> String {
    let x = margin + Double(index) / 100 * (width - 2 * margin)
    let y = height - margin - value * (height - 2 * margin)
    return String(format: "%.1f,%.1f", x, y)
  }
  func line(_ values: [Double], _ colour: String, dashed: Bool) -> String {
    let points = values.indices.map { point($0, values[$0]) }.joined(separator: " ")
    return #"<polyline fill="none" stroke="\#(colour)" stroke-width="2" "#
      + (dashed ? #"stroke-dasharray="6 4" "# : "") + #"points="\#(points)"/>"#
  }
  return [
    #"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" font-family="Helvetica, Arial, sans-serif" font-size="13">"#,
    #"<rect width="100%" height="100%" fill="white"/>"#,
    #"<text x="320" y="26" text-anchor="middle" font-size="15">u″ = −π² sin πx, u(0) = u(1) = 0</text>"#,
    ##"<line x1="50" y1="310" x2="590" y2="310" stroke="#888888"/>"##,
    #"<text x="50" y="330" text-anchor="middle">0</text><text x="590" y="330" text-anchor="middle">1</text>"#,
    line(exact, "#888888", dashed: false),
    line(solution, "#1f6fd1", dashed: true),
    ##"<text x="440" y="80" fill="#1f6fd1">network u(x), dashed</text>"##,
    ##"<text x="440" y="100" fill="#888888">sin πx</text>"##,
    "</svg>",
  ].joined(separator: "\n") + "\n"
}

do {
  try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
  try plot(solution, against: exact).write(
    toFile: "\(outputDirectory)/poisson.svg", atomically: true, encoding: .utf8)
} catch {
  print("Could not write the plot: \(error)")
}
if error > 1e-3 { exit(1) }
