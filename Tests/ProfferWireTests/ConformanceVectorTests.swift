import Foundation
import Testing

@testable import ProfferWire

/// The conformance vectors in `schema/vectors/`, shared with independent implementations.
enum ConformanceVectors {
    struct Valid: Decodable, CustomTestStringConvertible, Sendable {
        let why: String
        let input: String
        let canonical: String
        let json: JSONValue
        var testDescription: String { why.isEmpty ? input : why }
    }

    struct Invalid: Decodable, CustomTestStringConvertible, Sendable {
        let why: String
        let input: String?
        let inputHex: String?
        let code: String
        let column: Int
        var testDescription: String { "\(code) at \(column): \(why)" }

        var bytes: [UInt8] {
            if let input { return Array(input.utf8) }
            let hex = Array(inputHex!.utf8)
            return stride(from: 0, to: hex.count, by: 2).map {
                UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)!
            }
        }
    }

    private struct File<Vector: Decodable>: Decodable { let vectors: [Vector] }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schema/vectors")

    static func load<Vector: Decodable>(_ name: String) -> [Vector] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = try! Data(contentsOf: directory.appendingPathComponent(name))
        return try! decoder.decode(File<Vector>.self, from: data).vectors
    }

    static let valid: [Valid] = load("messages-valid.json")
    static let invalid: [Invalid] = load("messages-invalid.json")
}

/// Any JSON value, compared structurally so member order and number spelling do not matter.
indirect enum JSONValue: Decodable, Equatable, Sendable {
    case string(String), number(Double), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

@Suite("Conformance vectors")
struct ConformanceVectorTests {
    @Test("valid messages parse to their canonical form and JSON", arguments: ConformanceVectors.valid)
    func valid(_ vector: ConformanceVectors.Valid) throws {
        let message = try Message.parse(vector.input)
        #expect(message.canonicalForm == vector.canonical)
        #expect(try JSONValue.parse(message.conformanceJSON) == vector.json)
        // The canonical form is a fixed point and means the same message.
        let reparsed = try Message.parse(vector.canonical)
        #expect(reparsed == message)
        #expect(reparsed.canonicalForm == vector.canonical)
    }

    @Test("invalid messages give the spec's code and column", arguments: ConformanceVectors.invalid)
    func invalid(_ vector: ConformanceVectors.Invalid) {
        #expect {
            try Message.parse(utf8: vector.bytes)
        } throws: { error in
            guard let error = error as? MessageError else { return false }
            #expect(error.code.description == vector.code)
            #expect(error.column == vector.column)
            #expect(!error.message.isEmpty && !error.message.contains("\n"))
            return true
        }
    }

    @Test("the vectors reach every error code")
    func everyCodeHasAVector() {
        let covered = Set(ConformanceVectors.invalid.map(\.code))
        let all = Set(MessageError.Code.allCodes.map(\.description))
        #expect(all.subtracting(covered).isEmpty, "codes without a vector: \(all.subtracting(covered).sorted())")
    }

    @Test("the vectors reach every kind and every field")
    func everyKindAndFieldHasAVector() throws {
        let messages = try ConformanceVectors.valid.map { try Message.parse($0.input) }
        #expect(Set(messages.map(\.kind)) == Set(MessageKind.allCases))
        for key in FieldKey.allCases {
            #expect(messages.contains { $0.has(key) }, "no valid vector has \(key)")
        }
        #expect(messages.contains { !$0.attributes.isEmpty })
    }

    @Test("the line reader gives the same result as parsing each line whole, even when lines are streamed")
    func lineReaderAgreesWithParse() {
        let inputs =
            ConformanceVectors.invalid.map(\.bytes).filter { !$0.contains(0x0A) && !$0.contains(0x0D) }
            + ConformanceVectors.valid.map { Array($0.input.utf8) }
        var stream: [UInt8] = []
        for input in inputs { stream += input + [0x0A] }
        let expected = inputs.map { input in Result { () throws(MessageError) in try Message.parse(utf8: input) } }
        for bufferLimit in [1, 7, 64 * 1024] {
            for chunkSize in [1, 3, 4096] {
                var reader = MessageLineReader(bufferLimit: bufferLimit)
                var results: [Result<Message, MessageError>] = []
                stream.withUnsafeBufferPointer { all in
                    for start in stride(from: 0, to: all.count, by: chunkSize) {
                        reader.consume(UnsafeBufferPointer(rebasing: all[start..<min(start + chunkSize, all.count)])) {
                            results.append($0)
                        }
                    }
                }
                reader.finish { results.append($0) }
                #expect(results.count == expected.count)
                for (result, wanted) in zip(results, expected) where result != wanted {
                    Issue.record("buffer \(bufferLimit), chunk \(chunkSize): got \(result), want \(wanted)")
                    break
                }
            }
        }
    }
}
