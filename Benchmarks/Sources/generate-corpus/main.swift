import Corpus
import Foundation

// Usage: generate-corpus OUTPUT [COUNT]. Writes COUNT (default 10,000) messages from the fixed seed, one per line.
func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2, let count = Int(arguments.count > 2 ? arguments[2] : "10000"), count > 0 else {
    fail("usage: generate-corpus OUTPUT [COUNT]", status: 64)
}
let messages = count == 10_000 ? Corpus.standard() : Corpus.generate(count: count, seed: 7012)
let text = messages.joined(separator: "\n") + "\n"
do {
    try FileManager.default.createDirectory(
        at: URL(fileURLWithPath: arguments[1]).deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: arguments[1]))
} catch {
    fail("generate-corpus: cannot write \(arguments[1]): \(error.localizedDescription)", status: 73)
}
let averageBytes = messages.reduce(0) { $0 + $1.utf8.count } / messages.count
fail("wrote \(messages.count) messages (\(averageBytes) bytes on average) to \(arguments[1])", status: 0)
