import Foundation
import NIOSSL
import Testing

@testable import ProfferCrypto
@testable import ProfferNostr
@testable import ProfferTestSupport

/// The test relay behind nginx (Debian's), which terminates TLS with a certificate from a throwaway CA that only the
/// test that asks trusts.
final class TLSRelay: Sendable {
    let folder: String
    let nginx: BackgroundServer
    let caPath: String
    var url: String { "wss://localhost:\(nginx.port)" }

    init(inFrontOf relay: NostrTestRelay) async throws {
        let folder = "/tmp/proffer-tls-\(getpid())-\(UUID().uuidString.prefix(8))"
        (self.folder, caPath) = (folder, folder + "/ca.pem")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        func openssl(_ arguments: [String]) async throws {
            let status = try await BackgroundServer.run(
                "openssl", arguments, logPath: folder + "/openssl.log", workingFolder: folder)
            guard status == 0 else {
                throw BackgroundServer.ServerError(
                    "openssl \(arguments[0]) failed: \(BackgroundServer.tail(of: folder + "/openssl.log"))")
            }
        }
        try await openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=Proffer throwaway test CA", "-keyout", "ca.key", "-out", "ca.pem",
        ])
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n".utf8)
            .write(to: URL(fileURLWithPath: folder + "/server.ext"))
        try await openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr",
        ])
        try await openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "server.ext", "-out", "server.pem",
        ])
        let port = try BackgroundServer.freePort()
        let configuration = """
            daemon off;
            worker_processes 1;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log warn;
            \(getuid() == 0 ? "user root;" : "")
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path \(folder)/body;
              proxy_temp_path \(folder)/proxy;
              fastcgi_temp_path \(folder)/fastcgi;
              uwsgi_temp_path \(folder)/uwsgi;
              scgi_temp_path \(folder)/scgi;
              server {
                listen 127.0.0.1:\(port) ssl;
                ssl_certificate \(folder)/server.pem;
                ssl_certificate_key \(folder)/server.key;
                location / {
                  proxy_pass http://127.0.0.1:\(relay.port);
                  proxy_http_version 1.1;
                  proxy_set_header Upgrade $http_upgrade;
                  proxy_set_header Connection "upgrade";
                  proxy_read_timeout 600s;
                }
              }
            }
            """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: folder + "/nginx.conf"))
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else {
            throw BackgroundServer.ServerError("nginx is not installed: run `make setup`")
        }
        nginx = try await BackgroundServer(
            binary, ["-p", folder, "-c", folder + "/nginx.conf"], port: port, logPath: folder + "/nginx.log")
    }

    /// Client settings that trust the throwaway CA, and only it.
    func trustingItsCA() throws -> RelayClientConfiguration {
        var configuration = RelayClientConfiguration()
        configuration.tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        return configuration
    }

    deinit {
        nginx.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

@Suite("wss:// for real: certificates checked, through nginx in front of the test relay")
struct SecureRelayTests {
    @Test("a relay whose certificate chains to a trusted CA is used; the system's trust store refuses a throwaway CA")
    func tls() async throws {
        let relay = try await NostrTestRelay.shared()
        let secure = try await TLSRelay(inFrontOf: relay)
        let key = try SchnorrKeyPair.generate()
        let event = NostrEvent.signed(kind: 1, tags: [["t", "proffer"]], content: "over TLS", createdAt: now, by: key)

        let trusting = RelayPool(relays: [secure.url], configuration: try secure.trustingItsCA())
        defer { Task { await trusting.close() } }
        let outcomes = await trusting.publish(event, within: .seconds(60))
        #expect(
            outcomes.map(\.isAccepted) == [true],
            "\(outcomes) \(BackgroundServer.tail(of: secure.folder + "/error.log"))")
        let fetched = await trusting.fetch([NostrFilter(ids: [event.idHex])], within: .seconds(60))
        #expect(fetched.events == [event])

        // The default: the system's trust store, which has never heard of this CA.
        let strict = RelayPool(relays: [secure.url])
        defer { Task { await strict.close() } }
        let refused = await strict.publish(event, within: .seconds(60))
        guard case .unreachable(_, let reason)? = refused.first else {
            Issue.record("a certificate from an unknown CA was accepted: \(refused)")
            return
        }
        #expect(reason.contains("TLS") || reason.lowercased().contains("certificate"), "\(reason)")
    }
}
