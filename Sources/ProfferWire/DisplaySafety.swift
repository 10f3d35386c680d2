extension Unicode.Scalar {
    /// C0, DEL, C1, line and paragraph separators, and every invisible format character (Unicode category Cf: the
    /// bidirectional marks, embeddings, overrides and isolates, zero-width spaces and joiners, soft hyphens, tags),
    /// unassigned code points and noncharacters, private use, and the letters that print as nothing (Hangul fillers,
    /// the blank braille pattern): what could reorder, hide or forge what a person reads. Text from vendors is stripped of them, and notes the
    /// person keeps may not hold them.
    public var hidesOrMovesText: Bool {
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        case .unassigned, .privateUse, .surrogate: return true  // noncharacters are unassigned
        default: break
        }
        // Letters that print as nothing: the Hangul fillers, and the blank braille pattern.
        return [0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800].contains(value)
    }
}

extension String {
    /// The text without what could hide or move it (``Unicode/Scalar/hidesOrMovesText``): safe to print.
    public var withoutHiddenText: String {
        String(String.UnicodeScalarView(unicodeScalars.filter { !$0.hidesOrMovesText }))
    }
}
