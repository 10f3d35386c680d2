import AsyncHTTPClient
import Foundation
import NIOCore
import ProfferEnvelope

/// Talks HTTP to vendor endpoints (PROTOCOL.md §4) with a deadline on every request and a cap on every answer.
public final class VendorClient: Sendable {
    /// Answers larger than this are refused, whatever the vendor says.
    public static let maximumAnswerByteCount = 1 << 20

    let http: HTTPClient

    /// One client for the whole process: its connection pool lives as long as the process, like `HTTPClient.shared`.
    public static let shared = VendorClient()

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(30))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connection pool; call once when done with a client made by ``init()`` (not ``shared``).
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Fetches and verifies `GET {base}/profile`.
    public func profile(baseURL: String, timeout: Duration) async throws(AgentError) -> VendorProfile {
        let (status, body) = try await exchange(url: Self.join(baseURL, "profile"), body: nil, timeout: timeout)
        guard status == 200 else { throw .vendorFailed("GET /profile answered HTTP \(status)") }
        do {
            return try VendorProfile.verified(json: body)
        } catch {
            throw .vendorFailed(error.message)
        }
    }

    /// Posts an envelope to `{base}/inbox` and returns the JSON of a 200 answer.
    ///
    /// - Throws: ``AgentError`` when the vendor cannot be reached, times out, answers too much, or refuses the
    ///   envelope (with its error code and message).
    public func post(_ envelope: Envelope, baseURL: String, timeout: Duration) async throws(AgentError) -> [UInt8] {
        let (status, body) = try await exchange(
            url: Self.join(baseURL, "inbox"), body: envelope.jsonBytes, timeout: timeout)
        guard status == 200 else {
            if case .object(let members)? = try? StrictJSON.parse(body),
                case .object(let error)? = members.first(where: { $0.0 == "error" })?.1,
                let code = error.first(where: { $0.0 == "code" })?.1.stringValue
            {
                let message = error.first(where: { $0.0 == "message" })?.1.stringValue ?? ""
                throw .vendorRefused(code: code, message: message, status: status)
            }
            throw .vendorFailed("POST /inbox answered HTTP \(status)")
        }
        return body
    }

    private func exchange(url: String, body: [UInt8]?, timeout: Duration) async throws(AgentError)
        -> (Int, [UInt8])
    {
        var request = HTTPClientRequest(url: url)
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let http = self.http
        let finalRequest = request
        let milliseconds = Int64(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        do {
            // AsyncHTTPClient's deadline covers the whole exchange, the answer's body included.
            let response = try await http.execute(finalRequest, timeout: .milliseconds(milliseconds))
            let buffer = try await response.body.collect(upTo: VendorClient.maximumAnswerByteCount)
            return (Int(response.status.code), Array(buffer.readableBytesView))
        } catch let error as AgentError {
            throw error
        } catch is NIOTooManyBytesError {
            throw .vendorFailed("answered with more than \(VendorClient.maximumAnswerByteCount / 1024) KiB")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .timedOut(timeout)
        } catch {
            throw .unreachable(String(describing: error))
        }
    }

    static func join(_ base: String, _ resource: String) -> String {
        base.hasSuffix("/") ? base + resource : base + "/" + resource
    }
}
