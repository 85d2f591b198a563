// The main demonstration: `swift run -c release Demo`.
//
// Runs the three tutorial articles — BrainsToBytes, Rohan & Lenny, tinhatben — on the tape, the
// way each article prints its run, and ends with one verification table: every claim of the
// articles, the value derived by hand, the tape's value, ✓ or ✗. Exits with status 1 if any
// row fails. Each article also has its own executable (BrainsToBytes, RohanLenny, ORGate).
import ArticleExamples

let output = ExampleOutput.fromCommandLine()  // files go to output/, or to --output DIR
var rows = BrainsToBytesArticle.run(output: output)
rows += RohanLennyArticle.run(output: output)
rows += TinhatbenArticle.run(output: output)
print("━━ Verification: the articles' hand derivations against the tape ━━\n")
printTableAndExit(rows)
