// Rohan & Lenny #1, "Backpropagation explained": `swift run -c release RohanLenny`.
import ArticleExamples

printTableAndExit(RohanLennyArticle.run(output: .fromCommandLine()))
