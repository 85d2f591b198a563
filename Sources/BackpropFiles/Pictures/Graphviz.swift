#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes graph pictures: the DOT text of `Variable.graphviz(maxShownElements:showsGradients:showsTangents:)`
/// to a file, rendered to SVG or PNG by Graphviz's `dot` program when it is installed (Debian
/// and Ubuntu: `apt install graphviz`; macOS: `brew install graphviz`).
///
/// ```swift
/// let files = try Graphviz.write(loss.graphviz(), to: "output/or-gate", formats: [.svg])
/// // ["output/or-gate.dot", "output/or-gate.svg"], or only the .dot without Graphviz
/// ```
public enum Graphviz {
  /// An output format of `dot`.
  public enum Format: String, Sendable, CaseIterable {
    /// Scalable vector graphics, for web pages and READMEs.
    case svg
    /// A bitmap.
    case png
    /// A PDF document.
    case pdf
  }

  /// `true` when the `dot` program can be run (it is on the `PATH`).
  public static var isInstalled: Bool { (try? run(["dot", "-V"])) == 0 }

  /// Writes `dot` to `<basePath>.dot` and, when Graphviz is installed, renders it to
  /// `<basePath>.<format>` for each format.
  ///
  /// - Parameters:
  ///   - dot: A graph in the DOT language.
  ///   - basePath: The path without an extension; its directory must exist.
  ///   - formats: The pictures to render; SVG by default.
  /// - Returns: The files written: the `.dot` file, then each rendered picture.
  /// - Throws: ``FileError`` when a file cannot be written or `dot` fails.
  @discardableResult
  public static func write(_ dot: String, to basePath: String, formats: [Format] = [.svg])
    throws(FileError) -> [String]
  {
    let source = basePath + ".dot"
    try writeTextFile(dot, to: source)
    var written = [source]
    guard !formats.isEmpty, isInstalled else { return written }
    for format in formats {
      let picture = basePath + "." + format.rawValue
      let status: Int32
      do {
        status = try run(["dot", "-T\(format.rawValue)", "-o", picture, source])
      } catch {
        throw FileError(path: picture, .io("cannot run dot: \(error.problem)"))
      }
      guard status == 0 else {
        throw FileError(path: picture, .programFailed(program: "dot", status: status))
      }
      written.append(picture)
    }
    return written
  }

  /// Runs a program found on the `PATH` with `arguments` (the first is its name), its output
  /// discarded, and returns its exit status.
  static func run(_ arguments: [String]) throws(FileError) -> Int32 {
    #if canImport(Darwin)
      var actions: posix_spawn_file_actions_t? = nil
      let environment = _NSGetEnviron().pointee
    #else
      var actions = posix_spawn_file_actions_t()
      let environment = environ
    #endif
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv = arguments.map { strdup($0) }
    argv.append(nil)
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environment)
    guard spawned == 0 else {
      throw FileError(path: arguments[0], .io(String(cString: strerror(spawned))))
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
      guard errno == EINTR else { throw FileError(path: arguments[0], .io(String(cString: strerror(errno)))) }
    }
    // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
    return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
  }
}
