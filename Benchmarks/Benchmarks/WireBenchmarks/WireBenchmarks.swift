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
let corpusBytes: [[UInt8]] = corpus.map { Array($0.utf8) }
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
            for bytes in corpusBytes {
                blackHole(bytes.withUnsafeBufferPointer { try? Message.parse(utf8: $0) })
            }
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
        var output = [UInt8]()
        output.reserveCapacity(256)
        for _ in benchmark.scaledIterations {
            for message in corpusMessages {
                output.removeAll(keepingCapacity: true)
                message.writeCanonicalForm(into: &output)
                blackHole(output.count)
            }
        }
    }

    Benchmark("Parse and write §5 JSON for 10,000 messages") { benchmark in
        var output = [UInt8]()
        output.reserveCapacity(512)
        for _ in benchmark.scaledIterations {
            for bytes in corpusBytes {
                output.removeAll(keepingCapacity: true)
                if let message = bytes.withUnsafeBufferPointer({ try? Message.parse(utf8: $0) }) {
                    message.writeConformanceJSON(into: &output)
                }
                blackHole(output.count)
            }
        }
    }
}
