import AsyncHTTPClient
import Foundation
import NIOCore
import ProfferEnvelope
import ProfferVault
import ProfferWire
import Synchronization

/// Where a vendor is, as the agent talks to it: its name for messages, its base URL, and whether the person allowed
/// plain http to a host other than this machine.
public struct VendorEndpoint: Hashable, Sendable {
    public let name: String
    public let baseURL: String
    public let allowsHTTP: Bool

    public init(name: String, baseURL: String, allowsHTTP: Bool) {
        (self.name, self.baseURL, self.allowsHTTP) = (name, baseURL, allowsHTTP)
    }

    init(_ vendor: Vendor) { self.init(name: vendor.name, baseURL: vendor.baseURL, allowsHTTP: vendor.allowsHTTP) }

    /// "lumen (https://lumen.example/proffer)", how errors name the vendor; a vendor not added yet is its URL.
    var label: String { name.isEmpty ? "the vendor at \(baseURL)" : "\(name) (\(baseURL))" }

    /// Why the agent will not talk to this URL, or `nil` when it will: `https`, or `http` to a loopback address, or
    /// `http` the person allowed explicitly. Over plain http anyone on the path could present their own keys at
    /// first contact and read every later disclosure.
    public static func transportProblem(url: String, allowsHTTP: Bool) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
            components.query == nil, components.fragment == nil
        else { return "\"\(url)\" is not a vendor URL: write it like https://shop.example/proffer" }
        switch scheme {
        case "https": return nil
        case "http":
            if allowsHTTP || isLoopback(host) { return nil }
            return "\(url) uses plain http: anyone on the way could swap in their own keys and read what you send. "
                + "Use its https URL, or pass --allow-http if you accept that risk"
        default: return "\"\(url)\" is not an http(s) URL: write it like https://shop.example/proffer"
        }
    }

    /// `localhost`, 127.0.0.0/8 and ::1: traffic that never leaves the machine.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// Talks HTTP to vendor endpoints (PROTOCOL.md §4). Every exchange has one deadline for all of it (connecting, the
/// answer's head and every byte of its body) and a cap on the answer's size.
public final class VendorClient: Sendable {
    /// Answers larger than this are refused, whatever the vendor says.
    public static let maximumAnswerByteCount = 1 << 20

    let http: HTTPClient

    /// One client for the whole process: its connection pool lives as long as the process, like `HTTPClient.shared`.
    public static let shared = VendorClient()

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(600))
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(30))
        // A vendor that refuses the connection is down: say so now, rather than retrying until the deadline and
        // reporting a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connection pool; call once when done with a client made by ``init()`` (not ``shared``).
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Fetches and verifies `GET {base}/profile`.
    public func profile(_ endpoint: VendorEndpoint) async throws(AgentError) -> VendorProfile {
        let (status, body) = try await exchange(endpoint, resource: "profile", body: nil)
        guard status == 200 else { throw .badAnswer(endpoint, "answered GET /profile with HTTP \(status)") }
        do {
            return try VendorProfile.verified(json: body)
        } catch {
            throw .badAnswer(endpoint, "sent a profile that does not verify: \(error.message)")
        }
    }

    /// Fetches and verifies the profile, giving up at `timeout` (``withDeadline(_:for:reportedAs:_:)``).
    public func profile(_ endpoint: VendorEndpoint, within timeout: Duration) async throws(AgentError) -> VendorProfile
    {
        try await VendorClient.withDeadline(timeout, for: endpoint) { () async throws(AgentError) in
            try await self.profile(endpoint)
        }
    }

    /// Posts an envelope to `{base}/inbox` and returns the body of a 200 answer.
    ///
    /// - Throws: ``AgentError`` when the vendor cannot be reached, answers too much, or refuses the envelope (with its
    ///   error code and message).
    public func post(_ envelope: Envelope, to endpoint: VendorEndpoint) async throws(AgentError) -> [UInt8] {
        let (status, body) = try await exchange(endpoint, resource: "inbox", body: envelope.jsonBytes)
        guard status == 200 else {
            if case .object(let members)? = try? StrictJSON.parse(body),
                case .object(let error)? = members.first(where: { $0.0 == "error" })?.1,
                let code = error.first(where: { $0.0 == "code" })?.1.stringValue
            {
                let message = error.first(where: { $0.0 == "message" })?.1.stringValue ?? ""
                throw .vendorRefused(endpoint, code: code, message: message, status: status)
            }
            throw .badAnswer(endpoint, "answered POST /inbox with HTTP \(status)")
        }
        return body
    }

    /// Runs `body` (one vendor's whole exchange) and gives up at `timeout`, whatever the vendor does: a vendor that
    /// drips its answer a byte at a time is cut off at the deadline, and the caller goes on at once.
    ///
    /// - Parameter reportedAs: The timeout to name in the error, when `timeout` is what is left of a longer one.
    public static func withDeadline<T: Sendable>(
        _ timeout: Duration, for endpoint: VendorEndpoint, reportedAs: Duration? = nil,
        _ body: @escaping @Sendable () async throws(AgentError) -> T
    ) async throws(AgentError) -> T {
        let race = DeadlineRace<T>()
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<T, AgentError>, Never>) in
            race.start(continuation)
            let work = Task {
                do throws(AgentError) {
                    race.finish(.success(try await body()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                race.finish(.failure(.timedOut(endpoint, reportedAs ?? timeout)))
                work.cancel()
            }
            race.onFinish { timer.cancel() }
        }
        return try result.get()
    }

    private func exchange(_ endpoint: VendorEndpoint, resource: String, body: [UInt8]?) async throws(AgentError)
        -> (Int, [UInt8])
    {
        if let problem = VendorEndpoint.transportProblem(url: endpoint.baseURL, allowsHTTP: endpoint.allowsHTTP) {
            throw .refused(problem)
        }
        var request = HTTPClientRequest(url: Self.join(endpoint.baseURL, resource))
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let http = self.http
        let finalRequest = request
        do {
            // The caller's deadline (withDeadline) bounds the whole exchange; this one only keeps a forgotten request
            // from living forever.
            let response = try await http.execute(finalRequest, timeout: .seconds(600))
            let buffer = try await response.body.collect(upTo: VendorClient.maximumAnswerByteCount)
            return (Int(response.status.code), Array(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw .badAnswer(endpoint, "answered with more than \(VendorClient.maximumAnswerByteCount / 1024) KiB")
        } catch {
            throw .unreachable(endpoint, Self.whatFailed(error))
        }
    }

    /// A person's words for a networking failure, without the library's internal text.
    static func whatFailed(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "closed the connection before answering"
            case .connectTimeout: return "did not accept a connection"
            case .cancelled, .deadlineExceeded, .readTimeout: return "did not answer in time"
            case .invalidURL, .emptyHost, .emptyScheme: return "has a URL that cannot be used"
            default: break
            }
        }
        let typeName = String(describing: type(of: error))
        if typeName.contains("SSL") || typeName.contains("TLS") {
            return "failed the TLS handshake (its certificate is not valid for this address)"
        }
        if typeName.contains("Connect") || typeName.contains("IOError") || typeName.contains("Resolution") {
            return "could not be connected to (nothing answered at that address)"
        }
        if error is CancellationError { return "was given up on" }
        return "could not be reached"
    }

    static func join(_ base: String, _ resource: String) -> String {
        base.hasSuffix("/") ? base + resource : base + "/" + resource
    }
}

/// The first of "the work finished" and "the deadline passed" resumes the waiting caller; the other is ignored.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, AgentError>, Never>?
        var finished = false
        var onFinish: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Result<T, AgentError>, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.finished { return true }
            state.onFinish = action
            return false
        }
        if runNow { action() }
    }

    func finish(_ result: Result<T, AgentError>) {
        let (continuation, action) = state.withLock {
            state -> (CheckedContinuation<Result<T, AgentError>, Never>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            defer { state.continuation = nil }
            return (state.continuation, state.onFinish)
        }
        continuation?.resume(returning: result)
        action?()
    }
}
