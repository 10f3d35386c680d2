// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Proffer",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ProfferWire", targets: ["ProfferWire"]),
        .library(name: "ProfferCrypto", targets: ["ProfferCrypto"]),
        .library(name: "ProfferVault", targets: ["ProfferVault"]),
        .executable(name: "proffer", targets: ["proffer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(name: "ProfferWire"),
        .target(name: "ProfferCrypto", dependencies: ["CSodium"]),
        .target(
            name: "ProfferVault",
            dependencies: ["ProfferWire", "ProfferCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .executableTarget(
            name: "proffer",
            dependencies: [
                "ProfferWire", "ProfferCrypto", "ProfferVault",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "vault-test-writer",
            dependencies: ["ProfferVault", "ProfferCrypto", "ProfferWire"],
            path: "Sources/vault-test-writer"
        ),
        .testTarget(name: "ProfferVaultTests", dependencies: ["ProfferVault", "ProfferCrypto", "ProfferWire"]),
        .testTarget(
            name: "ProfferWireTests",
            dependencies: [
                "ProfferWire",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "ProfferCryptoTests", dependencies: ["ProfferCrypto"]),
        .testTarget(
            name: "ProfferCLITests",
            dependencies: ["proffer", "vault-test-writer", "ProfferVault", "ProfferCrypto"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
