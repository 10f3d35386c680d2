/// Why an envelope, a profile or a request was refused: the spec's error `code` (§3, §4), the HTTP status that
/// carries it, and a message that says what to fix. Messages never include keys, signatures or disclosed data.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The HTTP status a vendor answers this error with.
    public var httpStatus: Int { code.httpStatus }

    /// An error code of the protocol. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        public let httpStatus: Int

        private init(_ description: String, _ httpStatus: Int) {
            self.description = description
            self.httpStatus = httpStatus
        }

        public static let tooLarge = Code("too-large", 413)
        public static let badEnvelope = Code("bad-envelope", 400)
        public static let badVersion = Code("bad-version", 400)
        public static let badMessage = Code("bad-message", 400)
        public static let notForMe = Code("not-for-me", 400)
        public static let badSignature = Code("bad-signature", 401)
        public static let stale = Code("stale", 400)
        public static let replay = Code("replay", 409)
        public static let unknownRef = Code("unknown-ref", 422)
        public static let expired = Code("expired", 422)
        public static let termsUnsupported = Code("terms-unsupported", 422)
        public static let missingData = Code("missing-data", 422)
        /// Not in PROTOCOL.md: the replay window is full of fresh entries, so nothing new can be admitted safely
        /// (schema/envelope.md). Retry later.
        public static let busy = Code("busy", 503)
        /// Not in PROTOCOL.md: the sender already has as many open intents stored as the vendor keeps for one key
        /// (schema/envelope.md). Withdraw some, or wait for them to lapse.
        public static let tooMany = Code("too-many", 429)
        /// Not on the wire: a vendor profile that does not verify.
        public static let badProfile = Code("bad-profile", 502)

        /// Every code a vendor's inbox may answer with, in the order §3 checks them.
        public static let envelopeChecks: [Code] = [
            .tooLarge, .badEnvelope, .badVersion, .badMessage, .notForMe, .badSignature, .stale, .replay,
        ]

        public init?(wireName: String) {
            let all: [Code] =
                Code.envelopeChecks + [.unknownRef, .expired, .termsUnsupported, .missingData, .busy, .tooMany]
            guard let code = all.first(where: { $0.description == wireName }) else { return nil }
            self = code
        }
    }
}
