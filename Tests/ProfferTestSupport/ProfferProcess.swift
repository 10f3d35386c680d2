import Foundation

/// Runs the built `proffer` binary as a user would, with real standard streams.
public struct ProfferProcess {
    public struct Outcome: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public var stdoutLines: [String] {
            stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    /// `proffer` sits beside the test bundle in the build folder, whichever folder that is.
    public static let executable = builtProduct("proffer")

    public static func builtProduct(_ name: String) -> URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        fatalError("\(name) is not built beside \(testBinary.path); run `swift build` first")
    }

    /// Runs `proffer arguments…` with `input` on standard input; streams go through files so no pipe can fill up.
    public static func run(
        _ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:], executable: URL = executable
    ) throws -> Outcome {
        try start(arguments, input: input, environment: environment, executable: executable, onExit: nil).wait()
    }

    /// Runs `proffer arguments…` without blocking a thread of the concurrency pool, so servers in this process
    /// (whose handlers run on that pool) keep answering while it runs.
    public static func run(
        _ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:], executable: URL = executable
    ) async throws -> Outcome {
        let (exited, exit) = AsyncStream.makeStream(of: Void.self)
        let running = try start(
            arguments, input: input, environment: environment, executable: executable, onExit: { exit.finish() })
        for await _ in exited {}
        running.process.waitUntilExit()
        return try running.outcome()
    }

    /// A started process and the files its streams go to.
    final class Running: @unchecked Sendable {
        let process: Process
        let folder: URL

        init(process: Process, folder: URL) { (self.process, self.folder) = (process, folder) }

        func wait() throws -> Outcome {
            process.waitUntilExit()
            return try outcome()
        }

        func outcome() throws -> Outcome {
            defer { try? FileManager.default.removeItem(at: folder) }
            return Outcome(
                status: process.terminationStatus,
                stdout: String(decoding: try Data(contentsOf: folder.appendingPathComponent("stdout")), as: UTF8.self),
                stderr: String(decoding: try Data(contentsOf: folder.appendingPathComponent("stderr")), as: UTF8.self))
        }
    }

    static func start(
        _ arguments: [String], input: [UInt8], environment: [String: String], executable: URL,
        onExit: (@Sendable () -> Void)?
    ) throws -> Running {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stdinURL = folder.appendingPathComponent("stdin")
        let stdoutURL = folder.appendingPathComponent("stdout")
        let stderrURL = folder.appendingPathComponent("stderr")
        try Data(input).write(to: stdinURL)
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = try FileHandle(forReadingFrom: stdinURL)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        if let onExit { process.terminationHandler = { _ in onExit() } }
        try process.run()
        return Running(process: process, folder: folder)
    }
}
