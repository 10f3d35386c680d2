import Foundation
import ProfferCrypto

/// The vendor's key pairs, kept as raw seeds in its data folder (0600) and created on first run: `sign.key`
/// (Ed25519, signs the profile and every reply), `box.key` (X25519, opens disclosed data) and `nostr.key`
/// (secp256k1, its Nostr identity for public intents, PROTOCOL.md §6.1).
public struct VendorKeys: Sendable {
    public let signing: SigningKeyPair
    public let box: BoxKeyPair
    public let nostr: SchnorrKeyPair

    public init(signing: SigningKeyPair, box: BoxKeyPair, nostr: SchnorrKeyPair? = nil) throws {
        self.signing = signing
        self.box = box
        self.nostr = try nostr ?? SchnorrKeyPair.generate()
    }

    /// Loads the keys from `folder`, creating the folder (0700) and the keys when missing.
    public static func loadOrCreate(in folder: String) throws -> VendorKeys {
        try DataFolder.prepare(folder)
        func seed(_ name: String) throws -> SecretBytes {
            let path = (folder as NSString).appendingPathComponent(name)
            if let existing = try SecretBytes.contentsOfKeyFile(path, byteCount: 32) {
                var status = stat()
                if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
                    throw VendorStoreError(.unsafeFolder, "\(path) is readable by other users: run chmod 600 \(path)")
                }
                if status.st_uid != getuid() {
                    throw VendorStoreError(
                        .unsafeFolder, "\(path) belongs to another user: these cannot be this vendor's keys")
                }
                return existing
            }
            var fresh = try SecretBytes.random(count: 32)
            // Any 32 bytes make an Ed25519 or X25519 seed; a secp256k1 secret must be below the curve's order.
            while name == "nostr.key", (try? SchnorrKeyPair(secretKey: fresh)) == nil {
                fresh = try SecretBytes.random(count: 32)
            }
            try fresh.writeKeyFile(to: path)
            return fresh
        }
        let nostr: SchnorrKeyPair
        do {
            nostr = try SchnorrKeyPair(secretKey: try seed("nostr.key"))
        } catch let error as CryptoError {
            throw VendorStoreError(
                .unsafeFolder, "\((folder as NSString).appendingPathComponent("nostr.key")): \(error)")
        }
        return try VendorKeys(
            signing: try SigningKeyPair(seed: try seed("sign.key")), box: try BoxKeyPair(seed: try seed("box.key")),
            nostr: nostr)
    }
}
