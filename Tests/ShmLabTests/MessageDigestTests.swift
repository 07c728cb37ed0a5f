import Foundation
import Lessons
import Testing

/// Lesson 12's digests (written out in Swift, no packages) against their published test vectors:
/// RFC 1321 appendix A.5 (MD5), FIPS 180-2 appendix B (SHA-256), RFC 2202 section 2 (HMAC-MD5,
/// whose first cases are RFC 2104's) and RFC 4231 section 4 (HMAC-SHA256); plus messages of
/// 55…120 bytes around the padding boundaries, whose digests Python's hashlib computed.
@Suite("Lesson 12's MD5, SHA-256 and HMAC")
struct MessageDigestTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("MD5: RFC 1321's test suite")
    func md5() {
        let suite: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (message, digest) in suite {
            #expect(Self.hex(MD5.hash(Self.bytes(message))) == digest, "MD5(\"\(message)\")")
        }
    }

    @Test("SHA-256: FIPS 180-2's examples")
    func sha256() {
        #expect(Self.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(SHA256.hash(Self.bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(SHA256.hash(Self.bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("both digests across the padding boundaries (55, 56, 63, 64, 65, 119, 120 bytes)")
    func paddingBoundaries() {
        let table: [(Int, String, String)] = [
            (55, "ef1772b6dff9a122358552954ad0df65", "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
            (56, "3b0c8ac703f828b04c6c197006d17218", "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
            (63, "b06521f39153d618550606be297466d5", "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
            (64, "014842d480b571495a4a0363793f7367", "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
            (65, "c743a45e0d2e6a95cb859adae0248435", "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
            (119, "8a7bd0732ed6a28ce75f6dabc90e1613", "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
            (120, "5f61c0ccad4cac44c75ff505e1f1e537", "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
        ]
        for (count, md5, sha256) in table {
            let message = [UInt8](repeating: 0x61, count: count)
            #expect(Self.hex(MD5.hash(message)) == md5, "MD5 of \(count) × \"a\"")
            #expect(Self.hex(SHA256.hash(message)) == sha256, "SHA-256 of \(count) × \"a\"")
        }
    }

    @Test("HMAC-MD5: RFC 2104 / RFC 2202")
    func hmacMD5() {
        let cases: [([UInt8], [UInt8], String)] = [
            ([UInt8](repeating: 0x0b, count: 16), Self.bytes("Hi There"), "9294727a3638bb1c13f48ef8158bfc9d"),
            (Self.bytes("Jefe"), Self.bytes("what do ya want for nothing?"), "750c783e6ab0b503eaa86e310a5db738"),
            ([UInt8](repeating: 0xaa, count: 16), [UInt8](repeating: 0xdd, count: 50), "56be34521d144c88dbb8c733f0e8b3f6"),
            ([UInt8](repeating: 0xaa, count: 80), Self.bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
             "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"),
        ]
        for (key, message, mac) in cases {
            #expect(Self.hex(HMAC.authenticate(message, key: key, with: .md5)) == mac, "HMAC-MD5 with a \(key.count)-byte key")
        }
    }

    @Test("HMAC-SHA256: RFC 4231 test cases 1, 2, 3 and 6")
    func hmacSHA256() {
        let cases: [([UInt8], [UInt8], String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Self.bytes("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Self.bytes("Jefe"), Self.bytes("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ([UInt8](repeating: 0xaa, count: 131), Self.bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ]
        for (key, message, mac) in cases {
            #expect(Self.hex(HMAC.authenticate(message, key: key, with: .sha256)) == mac, "HMAC-SHA256 with a \(key.count)-byte key")
        }
    }

    @Test("equalInConstantTime: equal, different, different lengths")
    func comparison() {
        #expect(HMAC.equalInConstantTime([1, 2, 3], [1, 2, 3]))
        #expect(!HMAC.equalInConstantTime([1, 2, 3], [1, 2, 4]))
        #expect(!HMAC.equalInConstantTime([1, 2, 3], [1, 2]))
    }
}
