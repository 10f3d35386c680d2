import Foundation
import Synchronization

/// A PostgreSQL cluster of the tests' own: Debian's server binaries, `initdb` into a temporary folder, run as a
/// non-root user (the `postgres` account when the tests run as root) on a free loopback port, stopped and removed
/// when the test process exits. It never touches a system cluster.
///
/// One cluster serves the whole test process; each test takes a database of its own (``newDatabase()``).
public final class ThrowawayPostgres: Sendable {
    public let folder: String
    public let port: Int
    /// The folder holding the server's Unix socket.
    public var socketFolder: String { folder }
    let binaries: String

    /// The cluster, started on first use.
    public static func shared() throws -> ThrowawayPostgres {
        try startedCluster.withLock { cluster in
            if let cluster { return cluster }
            let started = try ThrowawayPostgres()
            cluster = started
            stopAtExit.withLock { $0 = (started.binaries, started.folder) }
            atexit {
                guard let (binaries, folder) = ThrowawayPostgres.stopAtExit.withLock({ $0 }) else { return }
                ThrowawayPostgres.stop(binaries: binaries, folder: folder)
            }
            return started
        }
    }

    private static let startedCluster = Mutex<ThrowawayPostgres?>(nil)
    private static let stopAtExit = Mutex<(String, String)?>(nil)
    private static let databaseCounter = Atomic<Int>(0)

    private init() throws {
        binaries = try ThrowawayPostgres.findBinaries()
        ThrowawayPostgres.removeLeftovers()
        folder = "/tmp/proffer-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: folder + "/owner.pid"))
        if getuid() == 0 {
            // PostgreSQL refuses to run as root: the cluster belongs to the `postgres` account.
            guard let account = getpwnam("postgres") else {
                throw ClusterError(
                    "there is no postgres account to run the test cluster as: run `make setup` (it installs "
                        + "postgresql and makes /etc/passwd readable)")
            }
            chown(folder, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        chmod(folder, 0o700)
        port = try BackgroundServer.freePort()
        try ThrowawayPostgres.runAsOwner(
            binaries + "/initdb",
            ["-D", folder + "/data", "-U", "proffer", "-A", "trust", "--no-sync", "-E", "UTF8", "--no-locale"])
        try ThrowawayPostgres.runAsOwner(
            binaries + "/pg_ctl",
            [
                "-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60", "-o",
                "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start",
            ])
    }

    /// A new, empty database in the cluster, as a `postgresql://` URL over TCP.
    public func newDatabase() throws -> String {
        let name = "test_\(getpid())_\(ThrowawayPostgres.databaseCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
        try ThrowawayPostgres.runAsOwner(
            binaries + "/psql",
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "proffer", "-d", "postgres", "-q", "-c",
                "CREATE DATABASE \(name)",
            ])
        return "postgresql://proffer@127.0.0.1:\(port)/\(name)"
    }

    /// Runs an SQL statement in `database` (a name), for tests that look inside.
    public func psql(database: String, _ sql: String) throws -> String {
        try ThrowawayPostgres.runAsOwner(
            binaries + "/psql",
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", "proffer", "-d", database, "-At", "-c", sql])
    }

    static func findBinaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted()
        guard let newest = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb")
        else {
            throw ClusterError(
                "PostgreSQL's server is not installed: run `make setup` (it installs Debian's postgresql)")
        }
        return "\(root)/\(newest)/bin"
    }

    /// Stops clusters left by test processes that died without their exit handler (kill -9).
    static func removeLeftovers() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix("proffer-pg-") {
            let folder = "/tmp/" + name
            guard
                let text = try? String(contentsOfFile: folder + "/owner.pid", encoding: .utf8),
                let owner = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                kill(owner, 0) != 0, errno == ESRCH, let binaries = try? findBinaries()
            else { continue }
            stop(binaries: binaries, folder: folder)
        }
    }

    static func stop(binaries: String, folder: String) {
        _ = try? runAsOwner(binaries + "/pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs a PostgreSQL program as the cluster's owner: `runuser -u postgres` when the tests run as root.
    ///
    /// Spawned and reaped here rather than with `Process`, which on Linux waits for every inherited descriptor to
    /// close: the server that `pg_ctl start` leaves running would keep it waiting for good.
    @discardableResult
    static func runAsOwner(_ program: String, _ arguments: [String]) throws -> String {
        // From "/": the cluster's owner may not be able to enter the tests' working folder.
        let argv =
            (getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []) + ["/usr/bin/env", "-C", "/", program]
            + arguments
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-pg-output-\(UUID())")
            .path
        defer { unlink(outputPath) }
        // In the tests' process group: the server `pg_ctl start` leaves is stopped by `pg_ctl stop`, not by signal.
        let child = try BackgroundServer.spawn(argv, outputPath: outputPath, ownGroup: false)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with status 0: the low 7 bits (the signal) and the exit code are all zero.
        guard status == 0 else {
            throw ClusterError("\((program as NSString).lastPathComponent) failed: \(text)")
        }
        return text
    }

    public struct ClusterError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
