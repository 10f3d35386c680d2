import AsyncHTTPClient
import Foundation
import NIOCore
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import Testing

@testable import ProfferTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A `proffer-vendor serve` process on 127.0.0.1, with its own data folder.
final class RunningVendor {
    let process = Process()
    let folder: URL
    let baseURL: String
    let profile: VendorProfile

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/vendors")

    /// - Parameters:
    ///   - data: The data folder; by default one of its own. Instances over one database share one.
    ///   - database: A `postgresql://` URL, or `nil` for SQLite in the data folder.
    init(catalog: String = "cameras.json", data: String? = nil, database: String? = nil) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-vendor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = ProfferProcess.builtProduct("proffer-vendor")
        process.arguments =
            [
                "serve", "--catalog", RunningVendor.examples.appendingPathComponent(catalog).path, "--listen",
                "127.0.0.1:0", "--data", data ?? folder.appendingPathComponent("data").path,
            ] + (database.map { ["--database", $0] } ?? [])
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        do {
            (baseURL, profile) = try await RunningVendor.waitUntilListening(output: output)
        } catch {
            // A failed start must not leave a server behind.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    private static func waitUntilListening(output: URL) async throws -> (String, VendorProfile) {
        var line: String?
        for _ in 0..<300 where line == nil {
            let text = String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self)
            line = text.split(separator: "\n").first { $0.hasPrefix("listening on ") }.map(String.init)
            if line == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let line else { throw CLIFailure("proffer-vendor did not start") }
        let baseURL = String(line.split(separator: " ")[2])
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: baseURL + "/profile"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        return (baseURL, try VendorProfile.verified(json: Array(body.readableBytesView)))
    }

    /// The resident memory of the server process, in bytes.
    var residentBytes: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// Stops the server with SIGTERM and returns its exit status.
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit {
        _ = stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Posts `body` to the vendor's inbox and returns the status and the error code, if any.
func post(_ body: [UInt8], to vendor: RunningVendor) async throws -> (Int, String?) {
    try await post(body, to: vendor.baseURL)
}

func post(_ body: [UInt8], to baseURL: String) async throws -> (Int, String?) {
    var request = HTTPClientRequest(url: baseURL + "/inbox")
    request.method = .POST
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let answer = try await response.body.collect(upTo: 1 << 20)
    var code: String?
    if case .object(let members)? = try? StrictJSON.parse(Array(answer.readableBytesView)),
        case .object(let error)? = members.first(where: { $0.0 == "error" })?.1
    {
        code = error.first { $0.0 == "code" }?.1.stringValue
    }
    return (Int(response.status.code), code)
}

@Suite("proffer-vendor", .serialized)
struct VendorServerTests {
    let person = try! SigningKeyPair.generate()

    func intent(to vendor: RunningVendor, at time: Timestamp = .now, signer: SigningKeyPair? = nil) -> Envelope {
        Envelope.signed(
            message: "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR in:DE terms:sd-base",
            by: signer ?? person, to: vendor.profile.signingKey, at: time)
    }

    /// One request of each kind of bad input, with the status and code the spec gives it.
    func badInputs(for vendor: RunningVendor, replayed: Envelope) -> [(
        name: String, body: [UInt8], status: Int, code: String
    )] {
        var forged = Array(intent(to: vendor).json.utf8)
        forged[forged.count - 5] = forged[forged.count - 5] == 0x41 ? 0x42 : 0x41
        return [
            ("malformed", Array("{\"proffer\":1,\"msg\":".utf8), 400, "bad-envelope"),
            (
                "extra member", Array(intent(to: vendor).json.dropLast().appending(",\"x\":1}").utf8), 400,
                "bad-envelope"
            ),
            (
                "version 2",
                Array(intent(to: vendor).json.replacingOccurrences(of: "\"proffer\":1", with: "\"proffer\":2").utf8),
                400, "bad-version"
            ),
            ("oversized", [UInt8](repeating: 0x20, count: 64 * 1024 + 1), 413, "too-large"),
            ("replayed", replayed.jsonBytes, 409, "replay"),
            ("stale", intent(to: vendor, at: .now.adding(seconds: -600)).jsonBytes, 400, "stale"),
            (
                "wrongly addressed",
                Envelope.signed(
                    message: "#withdraw re:k7f3q2ab", by: person, to: try! SigningKeyPair.generate().publicKey
                )
                .jsonBytes, 400, "not-for-me"
            ),
            ("badly signed", forged, 401, "bad-signature"),
            (
                "accept of an unknown offer",
                Envelope.signed(message: "#accept id:a1b2c3d4 re:zzzzzzzz", by: person, to: vendor.profile.signingKey)
                    .jsonBytes, 422, "unknown-ref"
            ),
        ]
    }

    @Test("bad envelopes get the spec's statuses and codes, and SIGTERM stops the server cleanly")
    func statusesAndCodes() async throws {
        let vendor = try await RunningVendor()
        let first = intent(to: vendor)
        #expect(try await post(first.jsonBytes, to: vendor).0 == 200)
        for input in badInputs(for: vendor, replayed: first) {
            let (status, code) = try await post(input.body, to: vendor)
            #expect(status == input.status, "\(input.name)")
            #expect(code == input.code, "\(input.name)")
        }
        #expect(vendor.stop() == 0)
    }

    @Test("the server's memory stays flat under 100,000 bad requests, and it keeps answering good ones")
    func memoryUnderBadInput() async throws {
        let vendor = try await RunningVendor()
        let first = intent(to: vendor)
        _ = try await post(first.jsonBytes, to: vendor)
        // Envelopes that verify would each (rightly) take a place in the replay window: only bad ones here.
        let inputs = badInputs(for: vendor, replayed: first).filter { $0.status != 422 }
        let baseURL = vendor.baseURL
        func storm(_ count: Int) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: count, by: 8) {
                            let input = inputs[index % inputs.count]
                            let (status, _) = try await post(input.body, to: baseURL)
                            guard status == input.status else {
                                throw CLIFailure("\(input.name): HTTP \(status), expected \(input.status)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await storm(10_000)
        let warmedUp = vendor.residentBytes
        try await storm(90_000)
        let after = vendor.residentBytes
        print(
            "proffer-vendor resident memory: \(warmedUp >> 10) KiB after 10,000 bad requests, \(after >> 10) KiB after 100,000"
        )
        #expect(after - warmedUp < 16 << 20, "grew from \(warmedUp >> 20) MiB to \(after >> 20) MiB")
        #expect(try await post(intent(to: vendor).jsonBytes, to: vendor).0 == 200)
        #expect(vendor.stop() == 0)
    }

    @Test("proffer-vendor check names the file, the JSON path, or the line and column of what is wrong")
    func catalogCheck() throws {
        let vendorBinary = ProfferProcess.builtProduct("proffer-vendor")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "proffer-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try String(
            contentsOf: RunningVendor.examples.appendingPathComponent("cameras.json"), encoding: .utf8)
        func check(_ text: String) throws -> ProfferProcess.Outcome {
            let file = folder.appendingPathComponent("catalog-\(UUID().uuidString).json")
            try Data(text.utf8).write(to: file)
            return try ProfferProcess.run(["check", "--catalog", file.path], executable: vendorBinary)
        }
        let valid = try check(good)
        #expect(valid.status == 0)
        #expect(valid.stdout.contains("valid: \"Lumen Cameras\", 5 items"))
        for (text, expected) in [
            ("{\n  \"name\": \"x\",\n  \"terms\": [\"sd-base\"],, }", "line 3, column 24"),
            (good.replacingOccurrences(of: "\"stock\": 2", with: "\"stock\": -5"), ".stock must be 0 or more"),
            (good.replacingOccurrences(of: "Fujifilm X-T5 body", with: "Fujifilm\\u001b[2J X-T5"), ".title must be"),
            (good.replacingOccurrences(of: "\"sd-base-dp\"", with: "\"sd-bogus\""), "not a registered terms id"),
            (good.replacingOccurrences(of: "\"eta\": \"3d\"", with: "\"eta\": 3"), "eta has the wrong type"),
        ] {
            let refused = try check(text)
            #expect(refused.status == 65, "\(expected)")
            #expect(refused.stderr.contains(expected), "\(refused.stderr)")
            #expect(refused.stderr.contains(folder.path), "the file is named")
        }
    }

    @Test("--data is checked, never chmod-ed; one process per folder; a port in use is one clear line")
    func dataFolderAndStartup() async throws {
        let vendorBinary = ProfferProcess.builtProduct("proffer-vendor")
        let catalog = RunningVendor.examples.appendingPathComponent("cameras.json").path
        func serve(_ data: String, listen: String = "127.0.0.1:0") throws -> ProfferProcess.Outcome {
            try ProfferProcess.run(
                ["serve", "--catalog", catalog, "--listen", listen, "--data", data], executable: vendorBinary)
        }
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent(
            "proffer-shared-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: shared) }
        chmod(shared.path, 0o1777)
        let refused = try serve(shared.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("chmod 700 \(shared.path)"))
        var status = stat()
        stat(shared.path, &status)
        #expect(status.st_mode & 0o7777 == 0o1777, "the folder's mode was left as it was")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared.path).isEmpty, "nothing written into it")
        chmod(shared.path, 0o1777)

        // A private folder inside a folder others can write (no sticky bit) could be swapped for theirs.
        let open = shared.appendingPathComponent("open")
        let inside = open.appendingPathComponent("private")
        try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
        chmod(open.path, 0o777)
        chmod(inside.path, 0o700)
        let swappable = try serve(inside.path)
        #expect(swappable.status == 1)
        #expect(swappable.stderr.contains("chmod go-w \(open.path)"), "\(swappable.stderr)")

        let vendor = try await RunningVendor()
        let second = try serve(vendor.folder.appendingPathComponent("data").path)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another proffer-vendor is already using"))
        let port = String(vendor.baseURL.split(separator: ":").last!)
        let busy = try serve(shared.path + "-other", listen: "127.0.0.1:\(port)")
        try? FileManager.default.removeItem(atPath: shared.path + "-other")
        #expect(busy.status == 1)
        #expect(
            busy.stderr
                == "proffer-vendor: 127.0.0.1:\(port) is already in use: stop what listens there, or choose another --listen\n"
        )
        #expect(vendor.stop() == 0)
    }

    @Test("proffer vendor add, intent publish and offer list against a running vendor; 69 when none is reachable")
    func publishFromTheCommandLine() async throws {
        let vendor = try await RunningVendor()
        let person = try CLIPerson(bare: ())
        func proffer(_ arguments: String...) throws -> ProfferProcess.Outcome { try person.proffer(arguments) }
        let added = try proffer("vendor", "add", vendor.baseURL, "--name", "cameras", "--yes")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains(fingerprint(of: vendor.profile.signingKey)))
        let intent = try proffer("intent", "new", "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
        let id = String(intent.stdout.split(separator: " ").first { $0.hasPrefix("id:") }!.dropFirst(3))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let published = try proffer("intent", "publish", id)
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stdout.contains("answered: 2 offers"))
        let listed = try proffer("offer", "list", id, "--json")
        let offers = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
        #expect(offers?.map { $0["price"] as? String } == ["1149EUR", "1199EUR"])
        #expect((offers?.first?["name"] as? String)?.hasPrefix("cameras/") == true)

        #expect(vendor.stop() == 0)
        // Down between publish and accept: nothing is sent, so no deal and no disclosure is recorded.
        #expect(try proffer("pref", "set", "name", "Ada Lovelace", "--share", "always").status == 0)
        #expect(try proffer("pref", "set", "postal", "12 Example Street", "--share", "always").status == 0)
        let offer = try #require(offers?.first?["name"] as? String)
        let accept = try proffer("offer", "accept", offer, "--yes", "--timeout", "2")
        #expect(accept.status == 69)
        #expect(accept.stderr.contains("could not be connected to"), "\(accept.stderr)")
        #expect(try proffer("deal", "list").stdout.contains("no deals yet"))
        #expect(!(try proffer("audit", "list").stdout.contains("disclosure")))
        let unreachable = try proffer("intent", "publish", id, "--timeout", "2")
        #expect(unreachable.status == 69)
        #expect(unreachable.stdout.contains("could not be connected to"))
    }
}

@Suite("proffer-vendor scan")
struct VendorScanTests {
    let vendorBinary = ProfferProcess.builtProduct("proffer-vendor")

    @Test("scan finds intents in plain and JSON lines, marks what the catalog answers, and counts what did not parse")
    func scan() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let posts = folder.appendingPathComponent("posts.txt")
        let lines = [
            "just a post about cameras",
            "Anyone? #buy camera.mirrorless max:1300EUR in:DE terms:sd-base please",
            #"{"id":1,"content":"line one\n#fix appliance.dishwasher in:GB by:3d"}"#,
            ##"{"id":2,"text":"#rent car.van qty:2 in:FR"}"##,
            "#buy camera max:12,00EUR",
            "<script>#buy x</script> #buy camera max:100EUR",
        ]
        try Data((lines.joined(separator: "\n")).utf8).write(to: posts)
        let catalog = NostrLessPaths.examples + "/vendors/cameras.json"
        let plain = try ProfferProcess.run(["scan", posts.path, "--catalog", catalog], executable: vendorBinary)
        #expect(plain.status == 0, "\(plain.stderr)")
        let shown = plain.stdout.split(separator: "\n")
        #expect(shown.count == 4, "\(plain.stdout)")
        #expect(shown[0].contains("answers") && shown[0].hasPrefix("2 "), "\(shown[0])")
        #expect(plain.stderr.contains("read 6 lines, found 5 intents"), "\(plain.stderr)")
        #expect(plain.stderr.contains("1 did not parse (bad-money 1)"), "\(plain.stderr)")
        let json = try ProfferProcess.run(
            ["scan", "--json", "-"], input: Array(lines.joined(separator: "\n").utf8), executable: vendorBinary)
        let first = json.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(
            first == ##"{"line":2,"canonical":"#buy camera.mirrorless max:1300EUR in:DE terms:sd-base","reply":null}"##,
            "\(first)")
        let missing = try ProfferProcess.run(["scan", folder.path + "/nope"], executable: vendorBinary)
        #expect(missing.status == 66 && missing.stderr.contains("cannot read"))
    }
}

/// Paths in the repository, from this file's place in it.
enum NostrLessPaths {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path
}
