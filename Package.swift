// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    // Linux only (Debian is what it is built and tested on): the C shims use prctl and the code calls Glibc, so no
    // Apple platform is claimed.
    name: "Proffer",
    products: [
        .library(name: "ProfferWire", targets: ["ProfferWire"]),
        .library(name: "ProfferCrypto", targets: ["ProfferCrypto"]),
        .library(name: "ProfferVault", targets: ["ProfferVault"]),
        .library(name: "ProfferEnvelope", targets: ["ProfferEnvelope"]),
        .library(name: "ProfferNostr", targets: ["ProfferNostr"]),
        .library(name: "ProfferAgent", targets: ["ProfferAgent"]),
        .library(name: "ProfferVendorKit", targets: ["ProfferVendorKit"]),
        .library(name: "ProfferAudit", targets: ["ProfferAudit"]),
        .executable(name: "proffer", targets: ["proffer"]),
        .executable(name: "proffer-vendor", targets: ["proffer-vendor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"])]
        ),
        .target(name: "ProfferWire"),
        .target(name: "ProfferCrypto", dependencies: ["CSodium", "CSecp256k1"]),
        .target(
            name: "ProfferVault",
            dependencies: ["ProfferWire", "ProfferCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(name: "ProfferEnvelope", dependencies: ["ProfferWire", "ProfferCrypto"]),
        .target(
            name: "ProfferNostr",
            dependencies: [
                "ProfferWire", "ProfferCrypto", "ProfferEnvelope",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ProfferAgent",
            dependencies: [
                "ProfferWire", "ProfferCrypto", "ProfferEnvelope", "ProfferVault", "ProfferNostr",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ProfferVendorKit",
            dependencies: [
                "ProfferWire", "ProfferCrypto", "ProfferEnvelope", "ProfferNostr",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ProfferAudit",
            dependencies: [
                "ProfferWire", "ProfferCrypto", "ProfferEnvelope", "ProfferVault", "ProfferNostr",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "proffer-vendor",
            dependencies: [
                "ProfferVendorKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "proffer",
            dependencies: [
                "ProfferWire", "ProfferCrypto", "ProfferVault", "ProfferEnvelope", "ProfferAgent", "ProfferAudit",
                "ProfferNostr",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "vault-test-writer",
            dependencies: ["ProfferVault", "ProfferCrypto", "ProfferWire", "ProfferEnvelope"],
            path: "Sources/vault-test-writer"
        ),
        .testTarget(
            name: "ProfferVaultTests",
            dependencies: ["ProfferVault", "ProfferCrypto", "ProfferWire", "ProfferEnvelope"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "ProfferWireTests",
            dependencies: [
                "ProfferWire",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ProfferCryptoTests",
            dependencies: ["ProfferCrypto", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Vectors"]
        ),
        .testTarget(name: "ProfferEnvelopeTests", dependencies: ["ProfferEnvelope", "ProfferWire", "ProfferCrypto"]),
        // Against a real relay (nostr-relay from PyPI), a hostile one of the tests' own, and nginx for TLS.
        .testTarget(
            name: "ProfferNostrTests",
            dependencies: [
                "ProfferNostr", "ProfferCrypto", "ProfferWire", "ProfferTestSupport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["hostile-relay.py"]
        ),
        .target(
            name: "ProfferTestSupport",
            dependencies: [
                "ProfferAgent", "ProfferVendorKit", "ProfferEnvelope", "ProfferVault", "ProfferWire", "ProfferCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ProfferTestSupport"
        ),
        .testTarget(
            name: "ProfferAgentTests",
            dependencies: [
                "ProfferTestSupport", "ProfferAgent", "ProfferVendorKit", "ProfferEnvelope", "ProfferVault",
                "ProfferNostr",
                "ProfferWire", "ProfferCrypto", .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ProfferVendorKitTests",
            dependencies: [
                "ProfferTestSupport", "ProfferVendorKit", "ProfferEnvelope", "ProfferWire", "ProfferCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "ProfferAuditTests",
            dependencies: ["ProfferAudit", "ProfferVault", "ProfferWire", "ProfferCrypto", "ProfferEnvelope"]
        ),
        // End to end: the built `proffer` against vendors on 127.0.0.1.
        .testTarget(
            name: "ProfferNegotiationTests",
            dependencies: [
                "proffer", "proffer-vendor", "ProfferTestSupport",
                "ProfferAgent", "ProfferVendorKit", "ProfferEnvelope", "ProfferVault", "ProfferWire", "ProfferCrypto",
                "ProfferAudit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "ProfferCLITests",
            dependencies: [
                "proffer", "proffer-vendor", "vault-test-writer", "ProfferTestSupport", "ProfferVault", "ProfferCrypto",
                "ProfferEnvelope",
                "ProfferWire", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
