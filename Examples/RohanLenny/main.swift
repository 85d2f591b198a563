// Rohan & Lenny #1, "Backpropagation explained": `swift run -c release RohanLenny`.
import ArticleExamples

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

let rows = RohanLennyArticle.run()
print(verificationTable(rows))
exit(rows.allSatisfy(\.passed) ? 0 : 1)
