// libFuzzer entry point, compiled together with ProfferWire's sources by Fuzz/run.sh (the module name is ProfferWire).

/// Any bytes: parsing must not trap, a valid message must survive format → parse unchanged, and the streaming line
/// reader must agree with parsing the line whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageParser(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let direct: Result<Message, MessageError>
    do throws(MessageError) {
        let message = try Message.parse(utf8: bytes)
        direct = .success(message)
        let canonical = message.canonicalForm
        guard let reparsed = try? Message.parse(canonical), reparsed == message, reparsed.canonicalForm == canonical
        else { fatalError("canonical form does not round-trip: \(canonical)") }
        // A reply's key and relays, written again from scratch, read back the same (unknown TLV records aside).
        if let reply = message.reply, let written = try? NostrReply(publicKey: reply.publicKey, relays: reply.relays) {
            precondition(
                written.publicKey == reply.publicKey && written.relays == reply.relays
                    && NostrReply(written.description) == written, "reply does not round-trip: \(reply)")
        }
    } catch {
        direct = .failure(error)
        let scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars.count
        precondition((1...max(1, scalars + 1)).contains(error.column), "column \(error.column) outside the input")
    }
    if !bytes.contains(0x0A) && !bytes.contains(0x0D) && count > 0 {
        var reader = MessageLineReader(bufferLimit: 16)
        var streamed: [Result<Message, MessageError>] = []
        reader.consume(bytes) { streamed.append($0) }
        reader.finish { streamed.append($0) }
        precondition(streamed == [direct], "line reader disagrees: \(streamed) vs \(direct)")
    }
    return 0
}
