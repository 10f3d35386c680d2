import ProfferEnvelope

/// Why the agent could not do what the person asked, in words that say what to do next.
public struct AgentError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The vendor could not be reached (exit 69).
        case unreachable
        /// The vendor did not answer in time (exit 69).
        case timedOut
        /// The vendor answered, but with something the agent refuses.
        case vendorFailed
        /// The vendor refused the envelope with a protocol error code.
        case vendorRefused
        /// The vendor's key is not the pinned one.
        case keyChanged
        /// The person's rules or the offer forbid the step.
        case refused
    }

    public let kind: Kind
    public let message: String
    /// The protocol error code, when the vendor gave one.
    public let code: String?

    init(_ kind: Kind, _ message: String, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    public var description: String { message }

    /// Whether the vendor was simply unavailable, as opposed to answering wrongly.
    public var isUnavailable: Bool { kind == .unreachable || kind == .timedOut }

    static func unreachable(_ detail: String) -> AgentError {
        AgentError(.unreachable, "could not be reached (\(detail))")
    }

    static func timedOut(_ timeout: Duration) -> AgentError {
        AgentError(.timedOut, "did not answer within \(timeout.components.seconds) s")
    }

    static func vendorFailed(_ detail: String) -> AgentError { AgentError(.vendorFailed, detail) }

    static func vendorRefused(code: String, message: String, status: Int) -> AgentError {
        AgentError(.vendorRefused, "refused it: \(code) (HTTP \(status)): \(message)", code: code)
    }

    static func keyChanged(vendor: String, pinned: String, current: String) -> AgentError {
        AgentError(
            .keyChanged,
            "\(vendor)'s key has changed: pinned \(pinned), now \(current). Nothing was sent. If the vendor told you "
                + "it changed its key, run `proffer vendor repin \(vendor)`")
    }

    static func refused(_ message: String) -> AgentError { AgentError(.refused, message) }
}
