import Foundation
import LabKit
import Testing

/// The lab's CompactJSON must speak the same JSON as Foundation's coders, and refuse bad text
/// with an error (a server decodes what any client sends).
@Suite("CompactJSON")
struct CompactJSONTests {
    struct Message: Codable, Equatable {
        enum Kind: String, Codable { case append, shutdown }
        var op: Kind
        var index: Int?
        var key: String?
        var value: Int?
        var values: [Int]?
        var ok: Bool
        var ratio: Double?
        var nested: Inner?
    }

    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String]
    }

    static let samples: [Message] = [
        Message(op: .append, index: nil, key: nil, value: 7, values: nil, ok: true, ratio: nil, nested: nil),
        Message(op: .shutdown, index: -3, key: "héllo \"quoted\" \\ / \n\t\u{1} 🎉", value: Int.min, values: [], ok: false,
                ratio: 0.125, nested: Inner(name: "", tags: ["a", "b,c"])),
        Message(op: .append, index: Int.max, key: "", value: 0, values: [1, -2, 3_000_000_000], ok: true, ratio: -1e-7, nested: nil),
    ]

    @Test("what CompactJSON writes, Foundation reads, and the other way round")
    func interoperatesWithFoundation() throws {
        for sample in Self.samples {
            let compact = try CompactJSON.encode(sample)
            #expect(try JSONDecoder().decode(Message.self, from: Data(compact)) == sample)
            let foundation = Array(try JSONEncoder().encode(sample))
            #expect(try CompactJSON.decode(Message.self, from: foundation) == sample)
            #expect(try CompactJSON.decode(Message.self, from: compact) == sample)
        }
        let spaced = Array(#" { "op" : "append" , "ok" : true , "values" : [ 1 , 2 ] , "key" : "\u00e9\ud83c\udf89" } "#.utf8)
        let decoded = try CompactJSON.decode(Message.self, from: spaced)
        #expect(decoded.values == [1, 2] && decoded.key == "é🎉")
    }

    @Test("bad text is an error, never a crash", arguments: [
        "", "{", "}", "[1,2", "{\"op\":}", "{\"op\":\"explode\",\"ok\":true}", "{\"ok\":1}", "nul", "\"\\x\"",
        "{\"op\":\"append\",\"ok\":true} trailing", "{\"op\":\"append\",\"ok\":true,\"value\":1.5}",
        "{\"op\":\"append\",\"ok\":true,\"value\":99999999999999999999}", "\u{FF}\u{00}garbage",
        String(repeating: "[", count: 100_000),
    ])
    func refusesBadText(_ text: String) {
        #expect(throws: (any Error).self) { try CompactJSON.decode(Message.self, from: Array(text.utf8)) }
    }
}
