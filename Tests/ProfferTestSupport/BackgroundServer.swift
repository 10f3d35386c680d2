import Foundation
import Synchronization

/// A server program the tests start and stop: spawned in a process group of its own (so its workers stop with it),
/// its output in a log file, ready once its loopback port accepts connections, and stopped when released or when the
/// test process exits. Nothing here blocks a thread of the concurrency pool for long (it has one thread per core, and
/// a blocked one delays every other test's timers).
public final class BackgroundServer: Sendable {
    public let port: Int
    public let logPath: String
    private let processGroup: pid_t

    /// Starts `program` and waits up to `readyWithin` for `port` to accept connections.
    public init(
        _ program: String, _ arguments: [String], port: Int, logPath: String, workingFolder: String = "/",
        readyWithin: Duration = .seconds(60)
    ) async throws {
        (self.port, self.logPath) = (port, logPath)
        let child = try BackgroundServer.spawn(
            ["/usr/bin/env", "-C", workingFolder, program] + arguments, outputPath: logPath)
        processGroup = child
        _ = BackgroundServer.running.withLock { $0.insert(child) }
        BackgroundServer.installExitHandler()
        let deadline = ContinuousClock.now + readyWithin
        while !BackgroundServer.accepts(port: port) {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                BackgroundServer.running.withLock { _ = $0.remove(child) }
                throw ServerError("\(program) exited before it listened: \(BackgroundServer.tail(of: logPath))")
            }
            guard ContinuousClock.now < deadline else {
                stop()
                throw ServerError(
                    "\(program) did not listen on port \(port) in time: \(BackgroundServer.tail(of: logPath))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    deinit { stop() }

    /// Runs `program` to its end, in a process group of its own, its output in `logPath`: its exit status.
    public static func run(_ program: String, _ arguments: [String], logPath: String, workingFolder: String = "/")
        async throws -> Int32
    {
        let child = try spawn(["/usr/bin/env", "-C", workingFolder, program] + arguments, outputPath: logPath)
        var status: Int32 = 0
        while waitpid(child, &status, WNOHANG) == 0 { try await Task.sleep(for: .milliseconds(50)) }
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
    }

    /// Spawns `argv` (its first element a path), with standard input from /dev/null and both outputs in
    /// `outputPath`; in a process group of its own unless `ownGroup` is false.
    static func spawn(_ argv: [String], outputPath: String, ownGroup: Bool = true) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, argv[0], &actions, &attributes, &cArguments, environ)
        guard spawned == 0 else {
            throw ServerError("cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        return child
    }

    /// Stops the server and its workers: SIGTERM now, and SIGKILL after 5 s on a thread of its own, which reaps it.
    public func stop() {
        let group = processGroup
        guard BackgroundServer.running.withLock({ $0.remove(group) }) != nil else { return }
        kill(-group, SIGTERM)
        Thread.detachNewThread { BackgroundServer.reap(group: group) }
    }

    /// A loopback port nothing listens on now.
    public static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw ServerError("no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static let running = Mutex<Set<pid_t>>([])
    private static let exitHandlerInstalled = Mutex(false)

    private static func installExitHandler() {
        exitHandlerInstalled.withLock { installed in
            guard !installed else { return }
            installed = true
            atexit {
                for group in BackgroundServer.running.withLock({ $0 }) {
                    kill(-group, SIGTERM)
                    BackgroundServer.reap(group: group)
                }
            }
        }
    }

    /// Waits up to 5 s for a stopped server to exit, then kills what is left of its group.
    private static func reap(group: pid_t) {
        var status: Int32 = 0
        for _ in 0..<100 {
            if waitpid(group, &status, WNOHANG) == group { break }
            usleep(50_000)
        }
        kill(-group, SIGKILL)
        _ = waitpid(group, &status, WNOHANG)
    }

    static func tail(of path: String) -> String {
        String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").suffix(2000))
    }

    public struct ServerError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
