// Short decimal text for numbers in diagnostics, graph labels, traces and plots, without
// Foundation. Shared by the package's modules (`package` access), not part of the public API.

/// `x` rounded to `digits` decimals, e.g. `formatFixed(0.123456, 3) == "0.123"`.
///
/// Non-finite values and magnitudes beyond 9·10¹⁵ after scaling fall back to `description`.
package func formatFixed(_ x: Double, _ digits: Int) -> String {
  guard x.isFinite else { return x.description }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let scaled = (Swift.abs(x) * scale).rounded()
  guard scaled < 9e15 else { return x.description }
  let integer = Int64(scaled)
  var text = String(integer)
  if digits > 0 {
    if text.count <= digits { text = String(repeating: "0", count: digits - text.count + 1) + text }
    text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
  }
  return (x < 0 && integer != 0 ? "-" : "") + text
}

/// `x` with about `digits` significant digits and no trailing zeros: `0.0786082`, `-1.5`, `3`,
/// `1.23e-07`, `4.5e+09`.
package func formatSignificant(_ x: Double, _ digits: Int = 6) -> String {
  guard x.isFinite else { return x.description }
  guard x != 0 else { return "0" }
  var (mantissa, exponent) = scientific(x)
  if exponent >= -4 && exponent < digits {
    return trimmingZeros(formatFixed(x, Swift.max(digits - 1 - exponent, 0)))
  }
  var rounded = formatFixed(mantissa, digits - 1)
  if rounded.hasPrefix("10") {  // 9.9999… rounded up to the next power of ten
    rounded = formatFixed(mantissa / 10, digits - 1)
    exponent += 1
  }
  let sign = x < 0 ? "-" : ""
  let power = (exponent < 0 ? "-" : "+") + (Swift.abs(exponent) < 10 ? "0" : "") + String(Swift.abs(exponent))
  return sign + trimmingZeros(rounded) + "e" + power
}

/// |x| as mantissa · 10^exponent with 1 ≤ mantissa < 10, for a finite non-zero `x`.
package func scientific(_ x: Double) -> (mantissa: Double, exponent: Int) {
  var exponent = 0
  var mantissa = Swift.abs(x)
  while mantissa >= 10 {
    mantissa /= 10
    exponent += 1
  }
  while mantissa < 1 {
    mantissa *= 10
    exponent -= 1
  }
  return (mantissa, exponent)
}

/// Removes trailing zeros after a decimal point, and the point itself if nothing follows it.
private func trimmingZeros(_ text: String) -> String {
  guard text.contains(".") else { return text }
  var result = Substring(text)
  while result.last == "0" { result.removeLast() }
  if result.last == "." { result.removeLast() }
  return String(result)
}
