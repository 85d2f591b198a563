// Escaping text for the formats the library writes: JSON (safetensors headers, the backward-pass
// page's data) and markup (SVG pictures, HTML pages). Shared by BackpropFiles and
// BackpropAutodiff, which do not see each other.

/// `text` as a JSON string literal: quotes, backslashes and control characters escaped, and
/// U+2028 and U+2029, which JavaScript before ES2019 does not accept raw in a string.
package func jsonQuoted(_ text: String) -> String {
  var result = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": result += "\\\""
    case "\\": result += "\\\\"
    case "\n": result += "\\n"
    case "\r": result += "\\r"
    case "\t": result += "\\t"
    case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
      let digits = String(scalar.value, radix: 16)
      result += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    default: result.unicodeScalars.append(scalar)
    }
  }
  return result + "\""
}

/// `text` with the five characters that markup gives meaning escaped, for element content and
/// attribute values of XML (SVG) and HTML alike.
package func escapedMarkup(_ text: String) -> String {
  var result = ""
  for character in text {
    switch character {
    case "&": result += "&amp;"
    case "<": result += "&lt;"
    case ">": result += "&gt;"
    case "\"": result += "&quot;"
    case "'": result += "&apos;"
    default: result.append(character)
    }
  }
  return result
}
