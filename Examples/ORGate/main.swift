// tinhatben, "Neural networks and backpropagation", the OR gate: `swift run -c release ORGate`.
import ArticleExamples

printTableAndExit(TinhatbenArticle.run(output: .fromCommandLine()))
