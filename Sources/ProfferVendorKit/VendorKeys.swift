import Foundation
import ProfferCrypto

/// The vendor's two key pairs, kept as raw seeds in its data folder (0600) and created on first run: `sign.key`
/// (Ed25519, signs the profile and every reply) and `box.key` (X25519, opens disclosed data).
public struct VendorKeys: Sendable {
    public let signing: SigningKeyPair
    public let box: BoxKeyPair

    public init(signing: SigningKeyPair, box: BoxKeyPair) {
        self.signing = signing
        self.box = box
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
            let fresh = try SecretBytes.random(count: 32)
            try fresh.writeKeyFile(to: path)
            return fresh
        }
        return VendorKeys(
            signing: try SigningKeyPair(seed: try seed("sign.key")), box: try BoxKeyPair(seed: try seed("box.key")))
    }
}
