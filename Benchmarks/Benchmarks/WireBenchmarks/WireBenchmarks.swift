import Benchmark
import Corpus
import Foundation
import ProfferWire

/// The same messages as the parser reads, as the §5 JSON a JSON-based protocol would decode instead.
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
/// The corpus as one buffer of lines with their ranges, as the CLI sees input read from a file.
let corpusText: [UInt8] = Array(corpus.joined(separator: "\n").utf8)
let corpusLines: [Range<Int>] = {
    var ranges: [Range<Int>] = []
    var start = 0
    for message in corpus {
        ranges.append(start..<start + message.utf8.count)
        start += message.utf8.count + 1
    }
    return ranges
}()
let corpusMessages: [Message] = corpus.map { try! Message.parse($0) }
let corpusJSON: [Data] = corpusMessages.map { Data($0.conformanceJSON.utf8) }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    // Each iteration handles the whole 10,000-message corpus: messages/s = 10,000 / wall clock per iteration.
    Benchmark("Parse 10,000 messages (ProfferWire)") { benchmark in
        for _ in benchmark.scaledIterations {
            var fields = 0
            corpusText.withUnsafeBufferPointer { text in
                for line in corpusLines {
                    // Use the message, so the parse cannot be optimised away.
                    if let message = try? Message.parse(utf8: UnsafeBufferPointer(rebasing: text[line])) {
                        fields &+= message.attributes.count &+ (message.id == nil ? 0 : 1)
                    }
                }
            }
            blackHole(fields)
        }
    }

    Benchmark("Decode the same 10,000 messages' JSON (JSONDecoder)") { benchmark in
        let decoder = JSONDecoder()
        for _ in benchmark.scaledIterations {
            for json in corpusJSON {
                blackHole(try? decoder.decode(MessageJSON.self, from: json))
            }
        }
    }

    Benchmark("Format 10,000 messages canonically") { benchmark in
        var output = ByteWriter(capacity: 64 * 1024)
        for _ in benchmark.scaledIterations {
            for message in corpusMessages {
                output.removeAll()
                message.writeCanonicalForm(to: &output)
                blackHole(output.count)
            }
        }
    }

    Benchmark("Parse and write §5 JSON for 10,000 messages") { benchmark in
        var output = ByteWriter(capacity: 64 * 1024)
        for _ in benchmark.scaledIterations {
            corpusText.withUnsafeBufferPointer { text in
                for line in corpusLines {
                    output.removeAll()
                    if let message = try? Message.parse(utf8: UnsafeBufferPointer(rebasing: text[line])) {
                        message.writeConformanceJSON(to: &output)
                    }
                    blackHole(output.count)
                }
            }
        }
    }
}
