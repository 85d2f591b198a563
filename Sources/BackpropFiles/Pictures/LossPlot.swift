import BackpropTensor

/// A line plot of loss per epoch as a self-contained SVG file, written without any dependency.
///
/// One point per epoch: epoch k (from 1) is at x = k, its loss at y. A logarithmic y axis shows
/// the slow tail of training; it leaves out losses that are not positive. Non-finite losses are
/// always left out.
///
/// ```swift
/// var losses: [Double] = []
/// for _ in 0..<1000 { losses.append(trainOneEpoch()) }
/// try LossPlot(title: "OR gate", losses: losses, logarithmic: true).write(to: "loss.svg")
/// ```
public struct LossPlot: Sendable {
  /// The heading above the plot.
  public var title: String
  /// One loss per epoch, epoch 1 first.
  public var losses: [Double]
  /// `true` for a logarithmic loss axis.
  public var logarithmic: Bool
  /// The picture's width in pixels.
  public var width: Int
  /// The picture's height in pixels.
  public var height: Int

  /// - Parameters:
  ///   - title: The heading above the plot.
  ///   - losses: One loss per epoch, epoch 1 first.
  ///   - logarithmic: A logarithmic loss axis; `false` by default.
  ///   - width: The width in pixels; 640 by default.
  ///   - height: The height in pixels; 360 by default.
  public init(title: String, losses: [Double], logarithmic: Bool = false, width: Int = 640, height: Int = 360)
  {
    self.title = title
    self.losses = losses
    self.logarithmic = logarithmic
    self.width = width
    self.height = height
  }

  /// The plotted points as (epoch, loss): every loss that the axis can show.
  public var points: [(epoch: Int, loss: Double)] {
    losses.enumerated().compactMap { index, loss in
      loss.isFinite && (!logarithmic || loss > 0) ? (index + 1, loss) : nil
    }
  }

  /// The plot as SVG text.
  public var svg: String {
    let (left, right, top, bottom) = (70.0, 20.0, 40.0, 50.0)
    let plotWidth = Double(width) - left - right
    let plotHeight = Double(height) - top - bottom
    let points = self.points
    let transform: (Double) -> Double = logarithmic ? { log10Positive($0) } : { $0 }

    let lastEpoch = Swift.max(losses.count, 2)
    var low = points.map { transform($0.loss) }.min() ?? 0
    var high = points.map { transform($0.loss) }.max() ?? 1
    if high - low < 1e-12 {
      low -= 0.5
      high += 0.5
    }
    func x(_ epoch: Double) -> Double { left + (epoch - 1) / Double(lastEpoch - 1) * plotWidth }
    func y(_ value: Double) -> Double { top + (high - value) / (high - low) * plotHeight }
    func number(_ value: Double) -> String { formatFixed(value, 2) }

    var lines = [
      #"<?xml version="1.0" encoding="UTF-8"?>"#,
      #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" "#
        + #"viewBox="0 0 \#(width) \#(height)" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
      #"<rect width="100%" height="100%" fill="white"/>"#,
      #"<text x="\#(number(Double(width) / 2))" y="24" text-anchor="middle" font-size="15">\#(escaped(title))</text>"#,
    ]
    // Grid lines and tick labels: five on each axis.
    for tick in 0...4 {
      let fraction = Double(tick) / 4
      let value = low + (high - low) * fraction
      let label = logarithmic ? formatSignificant(pow10(value), 3) : formatSignificant(value, 3)
      let ty = y(value)
      lines.append(
        #"<line x1="\#(number(left))" y1="\#(number(ty))" x2="\#(number(left + plotWidth))" y2="\#(number(ty))" "#
          + #"stroke="rgb(229,229,229)"/>"#)
      lines.append(
        #"<text x="\#(number(left - 6))" y="\#(number(ty + 4))" text-anchor="end">\#(label)</text>"#)
      let epoch = (1 + Double(lastEpoch - 1) * fraction).rounded()
      lines.append(
        #"<text x="\#(number(x(epoch)))" y="\#(number(top + plotHeight + 18))" text-anchor="middle">"#
          + #"\#(Int(epoch))</text>"#)
    }
    lines.append(
      #"<rect x="\#(number(left))" y="\#(number(top))" width="\#(number(plotWidth))" "#
        + #"height="\#(number(plotHeight))" fill="none" stroke="rgb(136,136,136)"/>"#)
    lines.append(
      #"<text x="\#(number(left + plotWidth / 2))" y="\#(number(Double(height) - 10))" "#
        + #"text-anchor="middle">epoch</text>"#)
    lines.append(
      #"<text x="16" y="\#(number(top + plotHeight / 2))" text-anchor="middle" "#
        + #"transform="rotate(-90 16 \#(number(top + plotHeight / 2)))">"#
        + #"\#(logarithmic ? "loss (log scale)" : "loss")</text>"#)
    let coordinates = points.map { "\(number(x(Double($0.epoch)))),\(number(y(transform($0.loss))))" }
    lines.append(
      #"<polyline fill="none" stroke="rgb(31,111,209)" stroke-width="1.5" points="\#(coordinates.joined(separator: " "))"/>"#
    )
    lines.append("</svg>")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Writes ``svg`` to `path`, atomically.
  ///
  /// - Parameter path: The file to write, usually ending in `.svg`; its directory must exist.
  /// - Throws: ``FileError`` when the file cannot be written.
  public func write(to path: String) throws(FileError) {
    try writeTextFile(svg, to: path)
  }
}

/// `text` with the five XML special characters escaped (see `escapedMarkup`).
func escaped(_ text: String) -> String { escapedMarkup(text) }

/// log₁₀ of a positive number, without Foundation.
private func log10Positive(_ x: Double) -> Double { Double._log(x) / Double._log(10) }

/// 10 raised to `x`.
private func pow10(_ x: Double) -> Double { Double._exp(x * Double._log(10)) }
