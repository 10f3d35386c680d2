import Corpus
import Foundation
import ProfferWire

// Runs one workload over the standard corpus ROUNDS times, for counting instructions under callgrind
// (Benchmarks/instruction-counts.sh runs it at 0 and N rounds and divides the difference by the messages handled).
// Usage: instruction-counts parse|json-decoder|format|parse-json ROUNDS
let arguments = CommandLine.arguments
guard arguments.count == 3, let rounds = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: instruction-counts parse|json-decoder|format|parse-json ROUNDS\n".utf8))
    exit(64)
}

struct MessageJSON: Codable {
    struct MoneyJSON: Codable {
        let amount: String
        let currency: String
    }
    struct Fields: Codable {
        let id, re: String?
        let price, min, max: MoneyJSON?
        let qty: Int?
        let item, sku: String?
        let `in`: [String]?
        let by, eta, exp: String?
        let terms, needs, give: [String]?
        let why, note: String?
    }
    let ok: Bool
    let canonical: String
    let kind: String
    let category: String?
    let fields: Fields
    let attributes: [String: String]
}

let corpus = Corpus.standard()
let text = Array(corpus.joined(separator: "\n").utf8)
var lines: [Range<Int>] = []
var lineStart = 0
for message in corpus {
    lines.append(lineStart..<lineStart + message.utf8.count)
    lineStart += message.utf8.count + 1
}
let messages = corpus.map { try! Message.parse($0) }
let json = messages.map { Data($0.conformanceJSON.utf8) }
var checksum = 0
var writer = ByteWriter(capacity: 64 * 1024)
let decoder = JSONDecoder()

// Decided once, so the loop measures the parser and not a string comparison per message.
let writesJSON = arguments[1] == "parse-json"
for _ in 0..<rounds {
    switch arguments[1] {
    case "parse", "parse-json":
        text.withUnsafeBufferPointer { buffer in
            for line in lines {
                guard let message = try? Message.parse(utf8: UnsafeBufferPointer(rebasing: buffer[line])) else {
                    continue
                }
                if writesJSON {
                    writer.removeAll()
                    message.writeConformanceJSON(to: &writer)
                    checksum &+= writer.count
                } else {
                    checksum &+= message.attributes.count &+ (message.id == nil ? 0 : 1)
                }
            }
        }
    case "json-decoder":
        for data in json { checksum &+= (try? decoder.decode(MessageJSON.self, from: data))?.kind.count ?? 0 }
    case "format":
        for message in messages {
            writer.removeAll()
            message.writeCanonicalForm(to: &writer)
            checksum &+= writer.count
        }
    default:
        FileHandle.standardError.write(Data("unknown workload \(arguments[1])\n".utf8))
        exit(64)
    }
}
print(checksum)
