#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Stops the program with `message` when `condition` is false, in every build configuration.
///
/// The library checks programmer errors (shapes that do not fit, axes and indices out of range)
/// with this rather than `precondition`, whose message is compiled out of optimised builds: in a
/// `-c release` build a failed `precondition` prints only "Illegal instruction". The message is
/// an autoclosure, built only when the check fails, and the failure is out of line, so a passing
/// check costs one predicted branch.
///
/// - Parameters:
///   - condition: What must hold.
///   - message: Names the operation and the offending values, e.g.
///     `"matmul: shapes [2, 3] and [2, 3] do not multiply (3 ≠ 2)"`.
@inlinable
@inline(__always)
package func check(
  _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
  if _slowPath(!condition) { checkFailed(message(), file: file, line: line) }
}

/// Stops the program with `message`, in every build configuration (see ``check(_:_:file:line:)``).
///
/// Standard output is flushed first: when it is a pipe or a file, C buffers what the program
/// printed, and stopping would otherwise lose the lines printed just before the mistake.
@inline(never)
@usableFromInline
package func checkFailed(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
  fflush(nil)
  fatalError(message, file: file, line: line)
}
