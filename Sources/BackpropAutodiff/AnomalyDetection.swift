import BackpropTensor

#if canImport(Runtime)
  import Runtime
#endif

/// Where an operation was recorded, kept in anomaly-detection mode: a backtrace of the toolchain's
/// `Runtime` module (Linux, macOS 26 and later), symbolicated only when an anomaly is reported.
///
/// A class, so that ``Variable`` keeps a fixed layout: `Backtrace` is a resilient type whose
/// size is known only at run time. Stored as `Any`, so that the library builds for platforms
/// and deployment targets without the module; there the location is unknown.
final class OperationOrigin {
  private let backtrace: Any

  private init(_ backtrace: Any) { self.backtrace = backtrace }

  /// The current backtrace, or `nil` where it cannot be captured.
  static func capture() -> OperationOrigin? {
    #if canImport(Runtime)
      if #available(macOS 26, *) { return (try? Backtrace.capture()).map(OperationOrigin.init) }
    #endif
    return nil
  }

  /// The first source location in the backtrace that is outside the Backprop library itself.
  var location: String {
    #if canImport(Runtime)
      if #available(macOS 26, *), let frames = (backtrace as? Backtrace)?.symbolicated()?.frames {
        for frame in frames {
          guard let location = frame.symbol?.sourceLocation else { continue }
          // Debug builds record absolute paths, release builds paths relative to the package.
          let path = "/" + location.path
          if path.contains("/Sources/BackpropAutodiff/") || path.contains("/Sources/BackpropTensor/") {
            continue
          }
          return "\(location.path):\(location.line)"
        }
      }
    #endif
    return "<unknown location>"
  }
}

/// Stops with an anomaly report naming where the offending operation was created.
func anomaly(_ message: String, _ origin: OperationOrigin?) -> Never {
  checkFailed("Anomaly: \(message); created at \(origin?.location ?? "<unknown location>")")
}
