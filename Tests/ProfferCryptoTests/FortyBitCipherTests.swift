import Testing

@testable import ProfferCrypto

@Suite("Forty-bit cipher")
struct FortyBitCipherTests {
    let cipher = FortyBitCipher(key: Array(0..<16))!

    @Test("Images match an independent implementation (PyNaCl's siphash24, the same Feistel network)")
    func knownAnswers() {
        let expected: [(UInt64, UInt64)] = [
            (0, 388_870_096_764), (1, 891_879_190_097), (2, 734_508_316_156), (12345, 760_846_560_247),
            ((1 << 40) - 1, 140_066_376_385),
        ]
        for (number, image) in expected {
            #expect(cipher.encrypt(number) == image)
            #expect(cipher.decrypt(image) == number)
        }
    }

    @Test("Consecutive numbers get distinct, unrelated-looking images below 2^40, each decrypting back")
    func permutation() {
        var images = Set<UInt64>()
        for number in UInt64(0)..<50_000 {
            let image = cipher.encrypt(number)
            #expect(image < FortyBitCipher.limit)
            #expect(cipher.decrypt(image) == number)
            images.insert(image)
        }
        #expect(images.count == 50_000)
        // Neighbours share no long prefix: of 50,000 images, few fall in the lowest 2^30 (a 1/1024 share).
        #expect(images.filter { $0 < 1 << 30 }.count < 200)
    }

    @Test("Another key gives other images; a key of the wrong size is refused")
    func keys() {
        let other = FortyBitCipher(key: FortyBitCipher.randomKey())!
        #expect((0..<64).filter { other.encrypt($0) == cipher.encrypt($0) }.count < 2)
        #expect(FortyBitCipher(key: Array(0..<15)) == nil)
        #expect(FortyBitCipher(key: Array(0..<32)) == nil)
    }
}
