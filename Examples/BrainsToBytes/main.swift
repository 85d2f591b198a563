// BrainsToBytes, "Deep Learning Basics (8)": `swift run -c release BrainsToBytes`.
import ArticleExamples

printTableAndExit(BrainsToBytesArticle.run(output: .fromCommandLine()))
