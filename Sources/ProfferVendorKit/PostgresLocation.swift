import Foundation

/// Where a PostgreSQL database is, from `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` (also `postgres://`), with
/// `?host=/socket/dir` for a Unix socket and `?sslmode=require` for TLS.
///
/// Its `description` never shows the password.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file itself: `DIR/.s.PGSQL.PORT`, as libpq names it.
        case socket(path: String)
    }

    public let endpoint: Endpoint
    public let user: String
    public let password: String?
    public let database: String
    public let requireTLS: Bool

    /// - Throws: ``VendorStoreError`` naming what is wrong, without repeating the URL (it may hold a password).
    public init(url text: String) throws {
        func refuse(_ why: String) -> VendorStoreError {
            VendorStoreError(
                .badLocation,
                "--database \(why): give postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, or "
                    + "postgresql://USER@/DB?host=/socket/dir for a Unix socket")
        }
        guard let components = URLComponents(string: text) else { throw refuse("is not a URL") }
        guard components.scheme == "postgresql" || components.scheme == "postgres" else {
            throw refuse("must start with postgresql://")
        }
        guard let user = components.user, !user.isEmpty else { throw refuse("names no user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw refuse("names no database") }
        var socketFolder: String?
        var requireTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("host", let folder?) where folder.hasPrefix("/"): socketFolder = folder
            case ("host", _): throw refuse("has ?host= that is not an absolute socket folder")
            case ("sslmode", "require"): requireTLS = true
            case ("sslmode", "disable"): requireTLS = false
            case ("sslmode", _): throw refuse("takes sslmode=require or sslmode=disable")
            default: throw refuse("has an unknown parameter \"\(item.name)\"")
            }
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw refuse("has a port outside 1-65535") }
        if let socketFolder {
            endpoint = .socket(path: (socketFolder as NSString).appendingPathComponent(".s.PGSQL.\(port)"))
        } else {
            guard let host = components.host, !host.isEmpty else { throw refuse("names no host") }
            endpoint = .tcp(host: host, port: port)
        }
        self.user = user
        self.password = components.password
        self.database = database
        self.requireTLS = requireTLS
    }

    public var description: String {
        switch endpoint {
        case .tcp(let host, let port): "postgresql://\(user)@\(host):\(port)/\(database)"
        case .socket(let path): "postgresql://\(user)@/\(database) (socket \(path))"
        }
    }
}
