import Foundation
import Hummingbird
import Logging
import ProfferEnvelope

/// The reference vendor server: `GET /profile` and `POST /inbox` over HTTP/1.1 (PROTOCOL.md §4), on Hummingbird.
///
/// Bodies over 64 KiB are refused from their `Content-Length` or as soon as more arrives, before they are read
/// whole; a body must arrive within ``bodyTimeout`` (a stalled one is cut when the connection has been idle for 30 seconds).
public struct VendorServer: Sendable {
    public static let bodyTimeout: Duration = .seconds(10)

    public let inbox: VendorInbox
    public let host: String
    public let port: Int
    /// Public intents and private messages over Nostr, served beside HTTP when the vendor has relays.
    public let listener: NostrListener?

    public init(inbox: VendorInbox, host: String, port: Int, listener: NostrListener? = nil) {
        self.inbox = inbox
        self.host = host
        self.port = port
        self.listener = listener
    }

    /// Builds the application; `onRunning` receives the bound port (useful with port 0).
    public func application(logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let router = Router()
        let inbox = self.inbox
        let profileBody = ByteBuffer(bytes: inbox.profile.jsonBytes)
        router.get("profile") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: profileBody))
        }
        router.post("inbox") { request, _ in
            let answer = await VendorServer.receive(request, inbox: inbox)
            return Response(
                status: .init(code: answer.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        var app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: "proffer-vendor"),
            services: listener.map { [inbox, $0] } ?? [inbox],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        // The schema is ready before the first request is taken (on PostgreSQL, the first instance to start creates it).
        app.beforeServerStarts { try await inbox.records.migrate() }
        return app
    }

    static func receive(_ request: Request, inbox: VendorInbox) async -> InboxAnswer {
        let limit = Envelope.maximumByteCount
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            return .error(ProtocolError(.tooLarge, "the body is \(declared) bytes; the limit is \(limit)"))
        }
        // A stalled body is cut by the connection's idle timeout; a trickling one by this deadline, checked as each
        // chunk arrives (cheaper than a timer task per request).
        let deadline = ContinuousClock.now + VendorServer.bodyTimeout
        var collected: [UInt8]? = []
        do {
            for try await buffer in request.body {
                guard ContinuousClock.now < deadline else {
                    return .error(ProtocolError(.badEnvelope, "the body did not arrive within 10 s"))
                }
                guard collected!.count + buffer.readableBytes <= limit else {
                    collected = nil
                    break
                }
                collected!.append(contentsOf: buffer.readableBytesView)
            }
        } catch {
            return .error(ProtocolError(.badEnvelope, "the body could not be read"))
        }
        guard let body = collected else {
            return .error(ProtocolError(.tooLarge, "the body is larger than \(limit) bytes"))
        }
        return await inbox.handle(body: body)
    }
}
