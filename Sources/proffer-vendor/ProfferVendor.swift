import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ProfferVendorKit
import ProfferWire
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

@main
struct ProfferVendor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proffer-vendor",
        abstract: "The reference Proffer vendor: answers intents with signed offers from a catalog.",
        subcommands: [Serve.self, Check.self, Profile.self, Scan.self, Desk.self])
}

extension ProfferVendor {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve GET /profile and POST /inbox (and public intents with --relay) until SIGINT or SIGTERM.",
            discussion: """
                Keys (sign.key, box.key, nostr.key; 0600) live in the --data folder, created on first run; back it up, since \
                the keys are the vendor's identity to every person's agent. Records live in vendor.db in the same \
                folder (one process per folder), or, with --database, in PostgreSQL, where any number of instances \
                that share the folder's keys and the database act as one vendor.

                A password in --database shows in the process list: prefer PROFFER_VENDOR_DATABASE in the \
                environment, or a socket with peer authentication.

                With --relay (up to 3), it also answers public intents (PROTOCOL.md §6): it publishes its profile \
                there, with its Nostr key (nostr.key in --data), reads the posts tagged proffer (those it missed \
                while down too), answers those its catalog matches with private offers, and takes counters, \
                accepts, withdrawals and forgets as private messages. Without --listen it is a vendor over Nostr \
                alone, with no HTTP endpoint.

                Once listening, prints `listening on http://HOST:PORT as "NAME"` on standard output (with --listen \
                127.0.0.1:0, the port the system chose), and `listening on RELAY… as "NAME" (npub1…)` with --relay. \
                Logs go to standard error; LOG_LEVEL=debug shows each request and each message ignored.
                """)

        @Option(
            help:
                "The catalog JSON file: name, terms, regions and items (see examples/vendors/*.json and schema/catalog.schema.json)."
        )
        var catalog: String

        @Option(
            help:
                "Where to listen for HTTP, as HOST:PORT (port 0 picks a free one). Default: 127.0.0.1:8700, or none with --relay."
        )
        var listen: String?

        @Option(
            name: .customLong("relay"),
            help: ArgumentHelp(
                "A Nostr relay to answer public intents on (wss://, or ws:// on this machine); repeat for up to 3.",
                valueName: "url"))
        var relays: [String] = []

        @Option(
            help: ArgumentHelp(
                "Ignore public intents with less proof of work than this many bits (0: none ignored).",
                valueName: "bits"))
        var requiredWork: Int = 0

        @Option(help: "The folder for the vendor's keys, and its records unless --database is given.")
        var data: String

        @Option(
            help: ArgumentHelp(
                "Keep the records in PostgreSQL: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, with ?host=/socket/dir "
                    + "for a Unix socket and ?sslmode=require for TLS. Default: $PROFFER_VENDOR_DATABASE, else "
                    + "vendor.db in --data.",
                valueName: "url"))
        var database: String?

        /// Where HTTP is served: `--listen`, else the default unless the vendor is on Nostr alone.
        var httpAddress: String? { listen ?? (relays.isEmpty ? "127.0.0.1:8700" : nil) }

        func validate() throws {
            if let listen, Self.address(listen) == nil {
                throw ValidationError("--listen \"\(listen)\" is not HOST:PORT, e.g. 127.0.0.1:8700")
            }
            guard relays.count <= 3, Set(relays).count == relays.count else {
                throw ValidationError("--relay: give 1 to 3 different relays (a profile names at most 3)")
            }
            for relay in relays where !NostrReply.isUsableRelay(relay) {
                throw ValidationError(
                    "--relay \"\(relay)\" is not a relay URL: wss://HOST[:PORT][/PATH], or ws:// on this machine only")
            }
            guard (0...64).contains(requiredWork) else { throw ValidationError("--required-work is 0 to 64 bits") }
        }

        static func address(_ text: String) -> (host: String, port: Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (0...65535).contains(port), colon != text.startIndex
            else { return nil }
            return (String(text[..<colon]), port)
        }

        func run() async throws {
            let loadedCatalog: Catalog
            do {
                loadedCatalog = try Catalog(contentsOf: catalog)
            } catch {
                Console.error("\(error)")
                throw ExitCode(65)
            }
            var logger = Logger(label: "proffer-vendor")
            logger.logLevel =
                ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .notice
            let inbox: VendorInbox
            // Held while serving: instances over PostgreSQL share the key folder, never with one on SQLite.
            var keysLock: FolderLock?
            do {
                // A bad URL is refused before anything is written to disk.
                let location = try (database ?? ProcessInfo.processInfo.environment["PROFFER_VENDOR_DATABASE"]).map {
                    try PostgresLocation(url: $0)
                }
                let keys = try VendorKeys.loadOrCreate(in: data)
                let records: any VendorRecords
                if let location {
                    if database != nil, location.password != nil {
                        Console.error(
                            "warning: the password in --database can be read by anyone who lists processes; set "
                                + "PROFFER_VENDOR_DATABASE in the environment instead")
                    }
                    keysLock = try FolderLock(data, shared: true)
                    records = PostgresRecords(location: location, logger: logger)
                } else {
                    records = try SQLiteRecords(folder: data)
                }
                inbox = VendorInbox(
                    catalog: loadedCatalog, keys: keys, records: records, relays: relays, logger: logger)
            } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
            let name = loadedCatalog.name
            let listener =
                relays.isEmpty
                ? nil
                : NostrListener(
                    inbox: inbox, relays: relays, requiredWork: requiredWork, logger: logger)
            let announceRelays: @Sendable () -> Void = {
                guard let listener else { return }
                let npub = NostrReply.npub(inbox.keys.nostr.publicKey.bytes)
                Console.output("listening on \(listener.relays.joined(separator: ", ")) as \"\(name)\" (\(npub))")
            }
            defer { withExtendedLifetime(keysLock) {} }
            do {
                if let address = httpAddress {
                    let (host, port) = Self.address(address)!
                    let server = VendorServer(inbox: inbox, host: host, port: port, listener: listener)
                    let app = server.application(logger: logger) { boundPort in
                        Console.output("listening on http://\(host):\(boundPort) as \"\(name)\"")
                        announceRelays()
                    }
                    try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
                } else if let listener {
                    try await inbox.records.migrate()
                    announceRelays()
                    let group = ServiceGroup(
                        services: [inbox, listener], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
                    try await group.run()
                }
            } catch {
                // NIO's text ("bind(descriptor:ptr:bytes:): Address already in use (errno: 98)") says little to a
                // person; the usual causes get one clear line.
                let text = String(describing: error)
                let line =
                    error is VendorStoreError
                    ? text
                    : text.contains("Address already in use")
                        ? "\(httpAddress ?? "") is already in use: stop what listens there, or choose another --listen"
                        : text.contains("Permission denied")
                            ? "not allowed to listen on \(httpAddress ?? ""): ports below 1024 need privileges; choose another --listen"
                            : text.contains("Cannot assign requested address")
                                ? "\(httpAddress ?? "") is not an address of this machine: choose another --listen"
                                : "stopped: \(text)"
                Console.error(line)
                throw ExitCode(1)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a catalog file against schema/catalog.schema.json and the protocol, without serving.",
            discussion: """
                Prints a summary and exits 0 when the catalog is valid; otherwise prints what is wrong (the file, \
                the JSON path or, for a syntax error, the line and column) and exits 65.
                """)

        @Option(help: "The catalog JSON file.")
        var catalog: String

        func run() throws {
            do {
                let checked = try Catalog(contentsOf: catalog)
                Console.output(
                    "\(catalog): valid: \"\(checked.name)\", \(checked.items.count) item\(checked.items.count == 1 ? "" : "s"), "
                        + "terms \(checked.terms.map(\.description).joined(separator: ",")), "
                        + "categories \(checked.categories.map(\.description).joined(separator: ","))")
            } catch {
                Console.error("\(error)")
                throw ExitCode(65)
            }
        }
    }

    struct Profile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the signed profile this vendor would serve, without serving.")

        @Option(help: "The catalog JSON file.")
        var catalog: String

        @Option(help: "The folder for the vendor's keys.")
        var data: String

        @Option(
            name: .customLong("relay"),
            help: ArgumentHelp(
                "A relay the vendor answers public intents on, as serve --relay; repeatable.", valueName: "url"))
        var relays: [String] = []

        func validate() throws {
            guard relays.count <= 3, Set(relays).count == relays.count, relays.allSatisfy(NostrReply.isUsableRelay)
            else {
                throw ValidationError("--relay: 1 to 3 different wss:// URLs (ws:// on this machine only)")
            }
        }

        func run() async throws {
            let profile = VendorInbox.profile(
                catalog: try Catalog(contentsOf: catalog), keys: try VendorKeys.loadOrCreate(in: data), relays: relays)
            Console.output(String(decoding: profile.jsonBytes, as: UTF8.self))
        }
    }
}

/// The server's one way to the terminal: results on standard output, diagnostics on standard error, each line written
/// whole and at once (unbuffered, so `listening on` reaches a supervisor the moment the port is open).
enum Console {
    static func output(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    static func error(_ line: String) { FileHandle.standardError.write(Data(("proffer-vendor: " + line + "\n").utf8)) }
}
