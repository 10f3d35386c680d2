// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so the main build never compiles package-benchmark.
let package = Package(
    name: "ProfferBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Proffer", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .target(name: "Corpus", dependencies: [.product(name: "ProfferWire", package: "Proffer")]),
        .executableTarget(name: "generate-corpus", dependencies: ["Corpus"]),
        .executableTarget(
            name: "signed-intents",
            dependencies: [
                .product(name: "ProfferEnvelope", package: "Proffer"),
                .product(name: "ProfferCrypto", package: "Proffer"),
                .product(name: "ProfferWire", package: "Proffer"),
            ]
        ),
        .systemLibrary(name: "CRawCrypto", path: "Sources/CRawCrypto"),
        .executableTarget(
            name: "nostr-crypto",
            dependencies: [
                "CRawCrypto",
                .product(name: "ProfferCrypto", package: "Proffer"),
                .product(name: "ProfferNostr", package: "Proffer"),
            ]
        ),
        .executableTarget(
            name: "instruction-counts",
            dependencies: ["Corpus", .product(name: "ProfferWire", package: "Proffer")]
        ),
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                "Corpus",
                .product(name: "ProfferWire", package: "Proffer"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "VaultBenchmarks",
            dependencies: [
                .product(name: "ProfferVault", package: "Proffer"),
                .product(name: "ProfferCrypto", package: "Proffer"),
                .product(name: "ProfferWire", package: "Proffer"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/VaultBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
