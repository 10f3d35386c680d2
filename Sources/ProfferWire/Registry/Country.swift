/// ISO 3166-1 alpha-2 country codes, generated from Debian's `iso-codes` (see `scripts/generate-countries.py`).
public enum Country {
    /// The English name of an assigned alpha-2 code such as `DE`, or `nil` when the code is not assigned.
    public static func name(ofCode code: String) -> String? {
        let bytes = Array(code.utf8)
        guard bytes.count == 2, let index = slot(bytes[0], bytes[1]) else { return nil }
        let entry = lookupTable[index]
        return entry == 0 ? nil : assignedCodes[Int(entry) - 1].name
    }

    /// Whether two ASCII letters (either case) form an assigned alpha-2 code.
    static func isAssigned(_ first: UInt8, _ second: UInt8) -> Bool {
        guard let index = slot(first, second) else { return false }
        return lookupTable[index] != 0
    }

    private static func slot(_ first: UInt8, _ second: UInt8) -> Int? {
        let a = first | 0x20
        let b = second | 0x20
        guard (0x61...0x7A).contains(a), (0x61...0x7A).contains(b) else { return nil }
        return Int(a - 0x61) * 26 + Int(b - 0x61)
    }

    /// 26×26 slots, one per letter pair, holding 1 + the index into `assignedCodes` (0 = unassigned), so a
    /// region check on the parser's hot path is one array read.
    private static let lookupTable: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 26 * 26)
        for (index, entry) in assignedCodes.enumerated() {
            let utf8 = Array(entry.code.utf8)
            table[slot(utf8[0], utf8[1])!] = UInt16(index + 1)
        }
        return table
    }()
}
