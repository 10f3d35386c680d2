/// Splits a byte stream into lines and parses each as a message (PROTOCOL.md §5), in constant memory.
///
/// Lines end at LF; one CR before the LF is removed; a final LF starts no empty line. Lines that fit the buffer are
/// parsed where they lie. A longer line is read byte by byte, keeping at most the 1,120 bytes that 280 scalars can
/// take, so memory stays flat whatever the input, and the result is the same as parsing the whole line at once.
///
/// ```swift
/// var reader = MessageLineReader()
/// reader.consume(chunk) { result in print(result) }
/// reader.finish { result in print(result) }
/// ```
public struct MessageLineReader {
    private var partialLine: [UInt8] = []
    private var oversizeLine: OversizeLine?
    private let bufferLimit: Int

    /// - Parameter bufferLimit: The longest partial line kept whole between chunks; longer lines are streamed.
    public init(bufferLimit: Int = 64 * 1024) {
        self.bufferLimit = Swift.max(bufferLimit, 1)
    }

    /// Parses every line that `chunk` completes, calling `body` with each result in order.
    public mutating func consume(
        _ chunk: UnsafeBufferPointer<UInt8>, _ body: (Result<Message, MessageError>) -> Void
    ) {
        var lineStart = 0
        let count = chunk.count
        while lineStart <= count {
            guard let newline = Self.firstNewline(in: chunk, from: lineStart) else { break }
            finishLine(with: UnsafeBufferPointer(rebasing: chunk[lineStart..<newline]), body)
            lineStart = newline + 1
        }
        guard lineStart < count else { return }
        let rest = UnsafeBufferPointer(rebasing: chunk[lineStart..<count])
        if oversizeLine != nil {
            oversizeLine!.feed(rest, mayHoldCarriageReturn: true)
        } else if partialLine.count + rest.count > bufferLimit {
            var line = OversizeLine()
            partialLine.withUnsafeBufferPointer { line.feed($0, mayHoldCarriageReturn: false) }
            line.feed(rest, mayHoldCarriageReturn: true)
            oversizeLine = line
            partialLine = []
        } else {
            partialLine.append(contentsOf: rest)
        }
    }

    /// Parses the last line when the input did not end with LF.
    public mutating func finish(_ body: (Result<Message, MessageError>) -> Void) {
        if var line = oversizeLine {
            line.releaseHeldCarriageReturn()
            body(line.result())
            oversizeLine = nil
        } else if !partialLine.isEmpty {
            body(partialLine.withUnsafeBufferPointer { Self.parse($0) })
            partialLine.removeAll(keepingCapacity: true)
        }
    }

    /// Completes the current line with `tail`, the bytes before an LF.
    private mutating func finishLine(
        with tail: UnsafeBufferPointer<UInt8>, _ body: (Result<Message, MessageError>) -> Void
    ) {
        if var line = oversizeLine {
            line.feed(Self.droppingCarriageReturn(tail), mayHoldCarriageReturn: false, lineEnds: true)
            body(line.result())
            oversizeLine = nil
        } else if partialLine.isEmpty {
            body(Self.parse(Self.droppingCarriageReturn(tail)))
        } else {
            partialLine.append(contentsOf: tail)
            body(partialLine.withUnsafeBufferPointer { Self.parse(Self.droppingCarriageReturn($0)) })
            partialLine.removeAll(keepingCapacity: true)
        }
    }

    private static func parse(_ line: UnsafeBufferPointer<UInt8>) -> Result<Message, MessageError> {
        do throws(MessageError) { return .success(try Message.parse(utf8: line)) } catch { return .failure(error) }
    }

    private static func droppingCarriageReturn(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let last = line.last, last == 0x0D else { return line }
        return UnsafeBufferPointer(rebasing: line.dropLast())
    }

    private static func firstNewline(in chunk: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index < chunk.count {
            if chunk[index] == 0x0A { return index }
            index += 1
        }
        return nil
    }
}

/// A line too long to buffer, judged byte by byte with the same rules and columns as ``Message/parse(utf8:)``.
private struct OversizeLine {
    /// 280 scalars take at most 1,120 bytes, so content past that is too long whatever it holds.
    static let contentLimit = Message.maximumScalars * 4

    private var scalars = 0
    private var pendingContinuations = 0
    private var lowestNext: UInt8 = 0x80
    private var highestNext: UInt8 = 0xBF
    private var sequenceStartColumn = 0
    private var invalidColumn: Int?

    private var leadingSpaces = 0
    private var trailingSpaces = 0
    private var hasContent = false
    private var content: [UInt8] = []
    private var contentOverflowed = false
    private var heldCarriageReturn = false

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, mayHoldCarriageReturn: Bool, lineEnds: Bool = false) {
        if heldCarriageReturn && !(lineEnds && bytes.isEmpty) {
            heldCarriageReturn = false
            feedByte(0x0D)
        } else if lineEnds && bytes.isEmpty {
            heldCarriageReturn = false
        }
        var end = bytes.count
        if mayHoldCarriageReturn, let last = bytes.last, last == 0x0D {
            heldCarriageReturn = true
            end -= 1
        }
        for index in 0..<end { feedByte(bytes[index]) }
    }

    mutating func releaseHeldCarriageReturn() {
        if heldCarriageReturn {
            heldCarriageReturn = false
            feedByte(0x0D)
        }
    }

    private mutating func feedByte(_ byte: UInt8) {
        validate(byte)
        if byte == ASCII.space {
            if hasContent { trailingSpaces += 1 } else { leadingSpaces += 1 }
            return
        }
        hasContent = true
        if !contentOverflowed {
            if content.count + trailingSpaces + 1 > Self.contentLimit {
                contentOverflowed = true
                content = []
            } else {
                content.append(contentsOf: repeatElement(ASCII.space, count: trailingSpaces))
                content.append(byte)
            }
        }
        trailingSpaces = 0
    }

    /// A byte-at-a-time strict UTF-8 check that records the column of the first bad sequence.
    private mutating func validate(_ byte: UInt8) {
        guard invalidColumn == nil else { return }
        if pendingContinuations == 0 {
            sequenceStartColumn = scalars + 1
            switch byte {
            case 0x00...0x7F: scalars += 1
            case 0xC2...0xDF: pendingContinuations = 1
            case 0xE0: (pendingContinuations, lowestNext) = (2, 0xA0)
            case 0xED: (pendingContinuations, highestNext) = (2, 0x9F)
            case 0xE1...0xEF: pendingContinuations = 2
            case 0xF0: (pendingContinuations, lowestNext) = (3, 0x90)
            case 0xF4: (pendingContinuations, highestNext) = (3, 0x8F)
            case 0xF1...0xF3: pendingContinuations = 3
            default: invalidColumn = sequenceStartColumn
            }
            return
        }
        guard byte >= lowestNext && byte <= highestNext else {
            invalidColumn = sequenceStartColumn
            return
        }
        (lowestNext, highestNext) = (0x80, 0xBF)
        pendingContinuations -= 1
        if pendingContinuations == 0 { scalars += 1 }
    }

    func result() -> Result<Message, MessageError> {
        if let column = invalidColumn ?? (pendingContinuations > 0 ? sequenceStartColumn : nil) {
            return .failure(MessageErrors.badEncoding(column: column))
        }
        guard hasContent else { return .failure(MessageErrors.empty()) }
        let trimmedScalars = scalars - leadingSpaces - trailingSpaces
        guard trimmedScalars <= Message.maximumScalars else {
            return .failure(MessageErrors.tooLong(scalars: trimmedScalars))
        }
        return content.withUnsafeBufferPointer { trimmed in
            do throws(MessageError) {
                return .success(try Message.parse(trimmed: trimmed, leadingSpaces: leadingSpaces))
            } catch {
                return .failure(error)
            }
        }
    }
}
