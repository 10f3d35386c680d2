import Foundation
import Synchronization

/// A real Nostr relay that nobody here wrote: `nostr-relay` from PyPI (SQLite storage), installed by `make setup` in a
/// virtual environment under `.build/`, started on a free loopback port in a temporary folder of its own and stopped
/// when released or when the test process exits.
public final class NostrTestRelay: Sendable {
    public let folder: String
    public let port: Int
    private let server: Mutex<BackgroundServer?>
    private let program: String

    /// `ws://127.0.0.1:PORT`.
    public var url: String { "ws://127.0.0.1:\(port)" }

    /// The repository's root, from this file's place in it.
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The virtual environment `make setup` makes; `PROFFER_NOSTR_RELAY_VENV` names another.
    public static var virtualEnvironment: String {
        ProcessInfo.processInfo.environment["PROFFER_NOSTR_RELAY_VENV"] ?? packageRoot + "/.build/nostr-relay-venv"
    }

    /// A relay shared by the tests of this process, started on first use.
    public static func shared() async throws -> NostrTestRelay {
        try await SharedRelay.instance.relay()
    }

    private actor SharedRelay {
        static let instance = SharedRelay()
        private var starting: Task<NostrTestRelay, any Error>?

        func relay() async throws -> NostrTestRelay {
            if let starting { return try await starting.value }
            let task = Task { try await NostrTestRelay() }
            starting = task
            return try await task.value
        }
    }

    /// A relay of its own, for a test that must see only its own events.
    /// - Parameter writers: When given, only these keys (hex) may publish, once authenticated (NIP-42); anyone may
    ///   read.
    public init(writers: [String]? = nil) async throws {
        program = NostrTestRelay.virtualEnvironment + "/bin/nostr-relay"
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw BackgroundServer.ServerError(
                "the test relay is not installed (\(program)): run `make setup`, which installs nostr-relay from PyPI")
        }
        folder = "/tmp/proffer-relay-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        port = try BackgroundServer.freePort()
        // Events up to the 64 KiB Proffer reads (the relay's default stops content at 4 KiB), no rate limits.
        let configuration = """
            DEBUG: false
            relay_name: proffer test relay
            storage:
              sqlalchemy.url: sqlite+aiosqlite:///\(folder)/events.sqlite3
              num_concurrent_reqs: 10
              num_concurrent_adds: 2
              validators:
                - nostr_relay.validators.is_not_too_large
                - nostr_relay.validators.is_signed
                - nostr_relay.validators.is_recent
            max_event_size: 65536
            gunicorn:
              bind: 127.0.0.1:\(port)
              workers: 1
              loglevel: warning
            authentication:
              enabled: \(writers != nil)
              relay_urls:
                - ws://127.0.0.1:\(port)
              actions:
                save: \(writers != nil ? "w" : "a")
                query: a
            message_timeout: 1800
            subscription_limit: 64
            max_limit: 6000
            """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: folder + "/config.yaml"))
        server = Mutex(nil)
        try await start()
        // Roles live in the relay's database, which it makes when it starts.
        for writer in writers ?? [] {
            let role = try await BackgroundServer.run(
                program, ["-c", folder + "/config.yaml", "role", "set", "-p", writer, "-r", "w"],
                logPath: folder + "/role.log", workingFolder: folder)
            guard role == 0 else {
                throw BackgroundServer.ServerError(
                    "could not give \(writer) the writer role: \(BackgroundServer.tail(of: folder + "/role.log"))")
            }
        }
    }

    /// Starts the relay (again) on its port, over the events it kept.
    public func start() async throws {
        let started = try await BackgroundServer(
            program, ["-c", folder + "/config.yaml", "serve"], port: port, logPath: folder + "/relay.log",
            workingFolder: folder)
        server.withLock { $0 = started }
    }

    /// Stops the relay, as a relay that goes away does.
    public func stop() {
        server.withLock { server in
            server?.stop()
            server = nil
        }
        while BackgroundServer.accepts(port: port) { usleep(20_000) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// What the relay logged, for a failing test's message.
    public var log: String { BackgroundServer.tail(of: folder + "/relay.log") }
}
