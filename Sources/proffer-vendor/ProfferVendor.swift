import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ProfferVendorKit

#if canImport(Glibc)
    import Glibc
#endif

@main
struct ProfferVendor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proffer-vendor",
        abstract: "The reference Proffer vendor: answers intents with signed offers from a catalog.",
        subcommands: [Serve.self, Check.self, Profile.self, Scan.self])
}

extension ProfferVendor {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve GET /profile and POST /inbox until SIGINT or SIGTERM.",
            discussion: """
                Keys (sign.key, box.key; 0600) live in the --data folder, created on first run; back it up, since \
                the keys are the vendor's identity to every person's agent. Records live in vendor.db in the same \
                folder (one process per folder), or, with --database, in PostgreSQL, where any number of instances \
                that share the folder's keys and the database act as one vendor.

                A password in --database shows in the process list: prefer PROFFER_VENDOR_DATABASE in the \
                environment, or a socket with peer authentication.

                Once listening, prints `listening on http://HOST:PORT as "NAME"` on standard output (with --listen \
                127.0.0.1:0, the port the system chose). Logs go to standard error; LOG_LEVEL=debug shows each \
                request.
                """)

        @Option(
            help:
                "The catalog JSON file: name, terms, regions and items (see examples/vendors/*.json and schema/catalog.schema.json)."
        )
        var catalog: String

        @Option(help: "Where to listen, as HOST:PORT (port 0 picks a free one).")
        var listen: String = "127.0.0.1:8700"

        @Option(help: "The folder for the vendor's keys, and its records unless --database is given.")
        var data: String

        @Option(
            help: ArgumentHelp(
                "Keep the records in PostgreSQL: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, with ?host=/socket/dir "
                    + "for a Unix socket and ?sslmode=require for TLS. Default: $PROFFER_VENDOR_DATABASE, else "
                    + "vendor.db in --data.",
                valueName: "url"))
        var database: String?

        func validate() throws {
            guard Self.address(listen) != nil else {
                throw ValidationError("--listen \"\(listen)\" is not HOST:PORT, e.g. 127.0.0.1:8700")
            }
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
                inbox = VendorInbox(catalog: loadedCatalog, keys: keys, records: records, logger: logger)
            } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
            let (host, port) = Self.address(listen)!
            let server = VendorServer(inbox: inbox, host: host, port: port)
            let name = loadedCatalog.name
            let app = server.application(logger: logger) { boundPort in
                Console.output("listening on http://\(host):\(boundPort) as \"\(name)\"")
            }
            defer { withExtendedLifetime(keysLock) {} }
            do {
                try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            } catch {
                // NIO's text ("bind(descriptor:ptr:bytes:): Address already in use (errno: 98)") says little to a
                // person; the usual causes get one clear line.
                let text = String(describing: error)
                let line =
                    error is VendorStoreError
                    ? text
                    : text.contains("Address already in use")
                        ? "\(listen) is already in use: stop what listens there, or choose another --listen"
                        : text.contains("Permission denied")
                            ? "not allowed to listen on \(listen): ports below 1024 need privileges; choose another --listen"
                            : text.contains("Cannot assign requested address")
                                ? "\(host) is not an address of this machine: choose another --listen"
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

        func run() async throws {
            let profile = VendorInbox.profile(
                catalog: try Catalog(contentsOf: catalog), keys: try VendorKeys.loadOrCreate(in: data))
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
