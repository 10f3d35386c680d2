import Foundation
import GRDB
import ProfferCrypto

#if canImport(Glibc)
    import Glibc
#endif

extension Vault {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        // No .sortedKeys: sealed payloads are only ever read back by this decoder, and sorting every object's keys
        // was a large share of the cost of sealing a record.
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// A record that writes its own JSON for sealing, so the hot path of storing many records skips Foundation's
/// JSONEncoder (a third of the instructions of adding an intent). What it writes must decode with `Vault.decoder` to
/// the same value as JSONEncoder's output would; `VaultTests` checks that.
protocol SealedJSONWritable {
    func writeSealedJSON(to output: inout [UInt8])
}

extension StoredIntent: SealedJSONWritable {
    func writeSealedJSON(to output: inout [UInt8]) {
        output.append(contentsOf: "{\"id\":\"".utf8)
        output.append(contentsOf: id.description.utf8)
        output.append(contentsOf: "\",\"canonical\":".utf8)
        SealedJSON.appendString(canonical, to: &output)
        output.append(contentsOf: ",\"persona\":".utf8)
        SealedJSON.appendString(persona, to: &output)
        output.append(contentsOf: ",\"state\":".utf8)
        SealedJSON.appendString(state.rawValue, to: &output)
        output.append(contentsOf: ",\"createdAt\":".utf8)
        SealedJSON.appendDate(createdAt, to: &output)
        output.append(contentsOf: ",\"updatedAt\":".utf8)
        if updatedAt == createdAt {
            // A new intent: the same 22 bytes again, without formatting the date twice.
            output.append(contentsOf: output[output.count - 35..<output.count - 13])
        } else {
            SealedJSON.appendDate(updatedAt, to: &output)
        }
        if let sentTo { SealedJSON.appendMember("sentTo", strings: sentTo, to: &output) }
        if let vendorIDs {
            SealedJSON.appendMember("vendorIDs", strings: vendorIDs.mapValues(\.description), to: &output)
        }
        if let untold { SealedJSON.appendMember("untold", strings: untold, to: &output) }
        if let declinedBy { SealedJSON.appendMember("declinedBy", strings: declinedBy, to: &output) }
        // Rare, so written by the encoder; such intents read back through the decoder.
        if let cast, let json = try? Vault.encoder.encode(cast) {
            output.append(contentsOf: ",\"cast\":".utf8)
            output.append(contentsOf: json)
        }
        output.append(0x7D)
    }
}

enum SealedJSON {
    /// `,"name":["a","b"]`.
    static func appendMember(_ name: String, strings: [String], to output: inout [UInt8]) {
        output.append(contentsOf: ",\"\(name)\":[".utf8)
        for (index, string) in strings.enumerated() {
            if index > 0 { output.append(0x2C) }
            appendString(string, to: &output)
        }
        output.append(0x5D)
    }

    /// `,"name":{"a":"x","b":"y"}`, its keys in order.
    static func appendMember(_ name: String, strings: [String: String], to output: inout [UInt8]) {
        output.append(contentsOf: ",\"\(name)\":{".utf8)
        for (index, key) in strings.keys.sorted().enumerated() {
            if index > 0 { output.append(0x2C) }
            appendString(key, to: &output)
            output.append(0x3A)
            appendString(strings[key]!, to: &output)
        }
        output.append(0x7D)
    }

    static func appendString(_ string: String, to output: inout [UInt8]) {
        output.append(0x22)
        var plain = string
        let needsEscapes = plain.withUTF8 { bytes -> Bool in
            bytes.contains { (byte: UInt8) -> Bool in byte < 0x20 || byte == 0x22 || byte == 0x5C }
        }
        guard needsEscapes else {
            plain.withUTF8 { output.append(contentsOf: $0) }
            output.append(0x22)
            return
        }
        for byte in string.utf8 {
            switch byte {
            case 0x22, 0x5C:
                output.append(0x5C)
                output.append(byte)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: "\\u00".utf8)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0xF)])
            default:
                output.append(byte)
            }
        }
        output.append(0x22)
    }

    /// `"2026-11-23T10:00:00Z"`, whole seconds in UTC: the form `.iso8601` decoding reads.
    static func appendDate(_ date: Date, to output: inout [UInt8]) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ count: Int) {
            var divisor: Int32 = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                output.append(UInt8(0x30 + (value / divisor) % 10))
                divisor /= 10
            }
        }
        output.append(0x22)
        digits(parts.tm_year + 1900, 4)
        output.append(0x2D)
        digits(parts.tm_mon + 1, 2)
        output.append(0x2D)
        digits(parts.tm_mday, 2)
        output.append(0x54)
        digits(parts.tm_hour, 2)
        output.append(0x3A)
        digits(parts.tm_min, 2)
        output.append(0x3A)
        digits(parts.tm_sec, 2)
        output.append(contentsOf: "Z\"".utf8)
    }
}
