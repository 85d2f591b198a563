import BackpropTensor

/// A JSON value (RFC 8259), as the safetensors header needs it: objects keep their members in
/// file order, and numbers keep their text so that integers are read exactly.
enum JSON: Equatable {
  case object([(key: String, value: JSON)])
  case array([JSON])
  case string(String)
  case number(String)
  case bool(Bool)
  case null

  static func == (left: JSON, right: JSON) -> Bool {
    switch (left, right) {
    case (.object(let a), .object(let b)):
      a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.array(let a), .array(let b)): a == b
    case (.string(let a), .string(let b)), (.number(let a), .number(let b)): a == b
    case (.bool(let a), .bool(let b)): a == b
    case (.null, .null): true
    default: false
    }
  }

  /// What the value is, for messages: "an object", "the string \"F32\"", …
  var kind: String {
    switch self {
    case .object: "an object"
    case .array: "an array"
    case .string(let text): "the string \(JSON.quoted(text))"
    case .number(let text): "the number \(text)"
    case .bool(let value): "\(value)"
    case .null: "null"
    }
  }

  /// The value as a non-negative integer no larger than `limit`, or `nil`.
  func count(atMost limit: Int) -> Int? {
    guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
    else { return nil }
    guard let value = Int(text), value <= limit else { return nil }
    return value
  }

  /// `text` as a JSON string literal (see `jsonQuoted`).
  static func quoted(_ text: String) -> String { jsonQuoted(text) }

  /// Why some bytes are not JSON, and at which byte.
  struct ParseError: Error {
    var offset: Int
    var reason: String
  }

  /// Parses `bytes` as one JSON value with nothing but whitespace around it. Objects nest at
  /// most `maximumDepth` deep, and an object may not repeat a key.
  static func parse(_ bytes: ArraySlice<UInt8>, maximumDepth: Int = 32) throws(ParseError) -> JSON {
    var parser = Parser(bytes: bytes, position: bytes.startIndex, maximumDepth: maximumDepth)
    parser.skipWhitespace()
    let value = try parser.value(depth: 0)
    parser.skipWhitespace()
    guard parser.position == bytes.endIndex else {
      throw parser.error("unexpected bytes after the JSON value")
    }
    return value
  }

  private struct Parser {
    let bytes: ArraySlice<UInt8>
    var position: Int
    let maximumDepth: Int

    func error(_ reason: String) -> ParseError {
      ParseError(offset: position - bytes.startIndex, reason: reason)
    }

    var next: UInt8? { position < bytes.endIndex ? bytes[position] : nil }

    mutating func skipWhitespace() {
      while let byte = next, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    mutating func expect(_ literal: String) throws(ParseError) {
      for byte in literal.utf8 {
        guard next == byte else { throw error("expected \(literal)") }
        position += 1
      }
    }

    mutating func value(depth: Int) throws(ParseError) -> JSON {
      guard let byte = next else { throw error("the JSON ends where a value should be") }
      switch byte {
      case UInt8(ascii: "{"):
        guard depth < maximumDepth else { throw error("values nest more than \(maximumDepth) deep") }
        return try object(depth: depth + 1)
      case UInt8(ascii: "["):
        guard depth < maximumDepth else { throw error("values nest more than \(maximumDepth) deep") }
        return try array(depth: depth + 1)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"):
        try expect("true")
        return .bool(true)
      case UInt8(ascii: "f"):
        try expect("false")
        return .bool(false)
      case UInt8(ascii: "n"):
        try expect("null")
        return .null
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
      default: throw error("unexpected byte 0x\(String(byte, radix: 16)) where a value should be")
      }
    }

    mutating func object(depth: Int) throws(ParseError) -> JSON {
      position += 1
      var members: [(key: String, value: JSON)] = []
      var keys = Set<String>()
      skipWhitespace()
      if next == UInt8(ascii: "}") {
        position += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard next == UInt8(ascii: "\"") else { throw error("expected a key (a string)") }
        let start = position
        let key = try string()
        guard keys.insert(key).inserted else {
          position = start
          throw error("the key \(JSON.quoted(key)) appears twice")
        }
        skipWhitespace()
        try expect(":")
        skipWhitespace()
        members.append((key, try value(depth: depth)))
        skipWhitespace()
        if next == UInt8(ascii: ",") {
          position += 1
          continue
        }
        try expect("}")
        return .object(members)
      }
    }

    mutating func array(depth: Int) throws(ParseError) -> JSON {
      position += 1
      var elements: [JSON] = []
      skipWhitespace()
      if next == UInt8(ascii: "]") {
        position += 1
        return .array(elements)
      }
      while true {
        skipWhitespace()
        elements.append(try value(depth: depth))
        skipWhitespace()
        if next == UInt8(ascii: ",") {
          position += 1
          continue
        }
        try expect("]")
        return .array(elements)
      }
    }

    mutating func number() throws(ParseError) -> String {
      let start = position
      func digits(_ parser: inout Parser) -> Int {
        var count = 0
        while let byte = parser.next, byte >= 0x30 && byte <= 0x39 {
          parser.position += 1
          count += 1
        }
        return count
      }
      if next == UInt8(ascii: "-") { position += 1 }
      if next == UInt8(ascii: "0") {
        position += 1
      } else if digits(&self) == 0 {
        throw error("a number needs digits")
      }
      if next == UInt8(ascii: ".") {
        position += 1
        guard digits(&self) > 0 else { throw error("a number needs digits after its decimal point") }
      }
      if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
        position += 1
        if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { position += 1 }
        guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
      }
      return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    mutating func hexQuad() throws(ParseError) -> UInt32 {
      var value: UInt32 = 0
      for _ in 0..<4 {
        guard let byte = next else { throw error("the string ends inside a \\u escape") }
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: throw error("a \\u escape needs four hexadecimal digits")
        }
        value = value << 4 | UInt32(digit)
        position += 1
      }
      return value
    }

    mutating func string() throws(ParseError) -> String {
      position += 1
      var utf8: [UInt8] = []
      while true {
        guard let byte = next else { throw error("the string never ends") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""):
          guard let text = String(validating: utf8, as: UTF8.self) else {
            throw error("the string is not valid UTF-8")
          }
          return text
        case 0..<0x20: throw error("a control character inside a string must be escaped")
        case UInt8(ascii: "\\"):
          guard let escaped = next else { throw error("the string ends inside an escape") }
          position += 1
          switch escaped {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
          case UInt8(ascii: "b"): utf8.append(0x08)
          case UInt8(ascii: "f"): utf8.append(0x0C)
          case UInt8(ascii: "n"): utf8.append(0x0A)
          case UInt8(ascii: "r"): utf8.append(0x0D)
          case UInt8(ascii: "t"): utf8.append(0x09)
          case UInt8(ascii: "u"):
            var code = try hexQuad()
            if (0xD800..<0xDC00).contains(code) {
              guard next == UInt8(ascii: "\\") else { throw error("a lone surrogate in a \\u escape") }
              position += 1
              try expect("u")
              let low = try hexQuad()
              guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate in a \\u escape") }
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(code) else { throw error("a lone surrogate in a \\u escape") }
            utf8.append(contentsOf: String(Character(scalar)).utf8)
          default: throw error("unknown escape \\\(Character(Unicode.Scalar(escaped)))")
          }
        default: utf8.append(byte)
        }
      }
    }
  }
}
