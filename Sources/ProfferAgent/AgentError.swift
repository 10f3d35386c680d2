import ProfferEnvelope
import ProfferVault
import ProfferWire

/// Why the agent could not do what the person asked, in words that say what to do next: a ``code`` to act on and a
/// message. Text a vendor sent is stripped of control characters before it gets into a message.
public struct AgentError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ name: String) { description = name }

        /// The vendor could not be reached (exit 69).
        public static let unreachable = Code("unreachable")
        /// The vendor did not finish answering in time (exit 69).
        public static let timedOut = Code("timed-out")
        /// The vendor answered, but with something the agent refuses.
        public static let badAnswer = Code("bad-answer")
        /// The vendor refused the envelope with a protocol error code.
        public static let vendorRefused = Code("vendor-refused")
        /// The vendor presents other keys than the pinned ones, or an older profile.
        public static let keyChanged = Code("key-changed")
        /// The person's rules, the offer, or the state of things forbid the step.
        public static let refused = Code("refused")
        /// What the person typed cannot be used (a URL that is not one, say).
        public static let invalidInput = Code("invalid-input")
        /// The vendor was found over Nostr and is not pinned: nothing goes to it until the person pins it.
        public static let notPinned = Code("not-pinned")
    }

    public let code: Code
    public let message: String
    /// The protocol error code the vendor answered with, when it is one the protocol defines.
    public let vendorCode: ProtocolError.Code?

    init(_ code: Code, _ message: String, vendorCode: ProtocolError.Code? = nil) {
        self.code = code
        self.message = message
        self.vendorCode = vendorCode
    }

    public var description: String { message }

    static func unreachable(_ endpoint: VendorEndpoint, _ what: String) -> AgentError {
        AgentError(
            .unreachable,
            "\(endpoint.label) \(what). Check that the vendor is up and its URL is right"
                + (endpoint.name.isEmpty
                    ? ""
                    : " (`proffer vendor show \(endpoint.name)`; if it moved, `proffer vendor set-url \(endpoint.name) URL`)")
                + ", then try again"
        )
    }

    static func timedOut(_ endpoint: VendorEndpoint, _ timeout: Duration) -> AgentError {
        AgentError(
            .timedOut,
            "\(endpoint.label) did not finish answering within \(timeout.components.seconds) s; try again later, or "
                + "give it longer with --timeout")
    }

    static func badAnswer(_ endpoint: VendorEndpoint, _ detail: String) -> AgentError {
        AgentError(.badAnswer, "\(endpoint.label) \(VendorText.clean(detail))")
    }

    static func vendorRefused(_ endpoint: VendorEndpoint, code wireCode: String, message: String, status: Int)
        -> AgentError
    {
        guard let code = ProtocolError.Code(wireName: wireCode) else {
            return AgentError(
                .badAnswer,
                "\(endpoint.label) refused it with HTTP \(status) and an error code the protocol does not define")
        }
        return AgentError(
            .vendorRefused, "\(endpoint.label) refused it: \(code) (HTTP \(status)): \(VendorText.clean(message))",
            vendorCode: code)
    }

    static func keyChanged(_ vendor: String, _ what: String) -> AgentError {
        AgentError(
            .keyChanged,
            "\(vendor) \(what). Nothing was sent. If the vendor told you it changed its keys, run "
                + "`proffer vendor repin \(vendor)`")
    }

    static func refused(_ message: String) -> AgentError { AgentError(.refused, message) }

    /// What an error says when a message reached no relay at all: nothing left this machine for good.
    static let nothingDelivered = "Nothing was delivered"

    static func notPinned(_ vendor: Vendor) -> AgentError {
        AgentError(
            .notPinned,
            "\(vendor.name) is a vendor you have not pinned (its profile was found on \(vendor.foundOn ?? "a relay")): "
                + "nothing was sent to it. Pin it first: `proffer vendor pin \(vendor.name)`, or accept its offer with --pin"
        )
    }

    /// The same error, its message ending with `sentence` unless it says so already.
    func adding(_ sentence: String) -> AgentError {
        guard !message.lowercased().contains(sentence.lowercased()) else { return self }
        let separator = message.hasSuffix(".") ? " " : ". "
        return AgentError(code, message + separator + sentence, vendorCode: vendorCode)
    }
}

/// Text a vendor sent, made safe to print: C0 and C1 control characters and bidirectional overrides are removed, so
/// a vendor cannot move the cursor, recolour the terminal, forge a line or reorder what the person reads.
public enum VendorText {
    /// How much of a vendor's text is shown: enough for any honest message, not a screenful of noise.
    public static let maximumScalars = 300

    public static func clean(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isControl(scalar) {
            guard scalars.count < maximumScalars else {
                scalars.append("…")
                break
            }
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// Whether `scalar` could reorder, hide or forge what the person reads (``Unicode/Scalar/hidesOrMovesText``).
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.hidesOrMovesText }
}

extension AgentError {
    /// A deal whose accept was not confirmed: recorded, and to be sent again with `deal retry`.
    public static func unconfirmed(_ deal: StoredDeal) -> AgentError {
        // Whether data left is what a person needs to know first; an answer that never came says nothing of it.
        let carried = deal.disclosed.map(\.rawValue).joined(separator: ", ")
        let data =
            deal.disclosed.isEmpty
            ? "It carried no personal data. "
            : deal.problem?.contains(AgentError.nothingDelivered) == true
                ? "It carried your \(carried), sealed to the vendor, but no relay took it: the vendor does not hold "
                    + "them (the audit log records the attempt). "
                : "It carried your \(carried), sealed to the vendor: if it arrived, the vendor holds them (the audit "
                    + "log records the disclosure). "
        return AgentError(
            .unreachable,
            "deal \(deal.id) with \(deal.vendor) is \(deal.state.rawValue): \(deal.problem ?? "no valid answer"). "
                + data + "`proffer deal retry \(deal.id)` sends the same accept again")
    }

    /// A forget not confirmed yet: recorded as pending, to be sent again with `deal forget`.
    public static func forgetPending(_ deal: StoredDeal, because problem: String) -> AgentError {
        AgentError(
            .unreachable,
            "the forget of deal \(deal.id) is pending: \(problem). Run `proffer deal forget \(deal.id)` again later")
    }
}
