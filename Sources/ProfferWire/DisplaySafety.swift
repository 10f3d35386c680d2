extension Unicode.Scalar {
    /// C0, DEL, C1, line and paragraph separators, and every invisible format character (Unicode category Cf: the
    /// bidirectional marks, embeddings, overrides and isolates, zero-width spaces and joiners, soft hyphens, tags):
    /// what could reorder, hide or forge what a person reads. Text from vendors is stripped of them, and notes the
    /// person keeps may not hold them.
    public var hidesOrMovesText: Bool {
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}
