// BrainsToBytes, "Deep Learning Basics (8)": `swift run -c release BrainsToBytes`.
import ArticleExamples

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

let rows = BrainsToBytesArticle.run()
print(verificationTable(rows))
exit(rows.allSatisfy(\.passed) ? 0 : 1)
