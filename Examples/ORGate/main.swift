// tinhatben, "Neural networks and backpropagation", the OR gate: `swift run -c release ORGate`.
import ArticleExamples

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

let rows = TinhatbenArticle.run()
print(verificationTable(rows))
exit(rows.allSatisfy(\.passed) ? 0 : 1)
