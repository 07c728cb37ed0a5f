import Foundation
import LabKit
import Lessons
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

    /// A value that encodes through a nested container, which CompactJSON does not support.
    struct Nested: Encodable {
        enum Keys: String, CodingKey { case outer, inner }
        func encode(to encoder: Encoder) throws {
            var outer = encoder.container(keyedBy: Keys.self)
            var inner = outer.nestedContainer(keyedBy: Keys.self, forKey: .outer)
            try inner.encode(1, forKey: .inner)
        }
    }

    @Test("a value it cannot encode is an error that says why, never a crash")
    func refusesNestedContainers() {
        #expect {
            _ = try CompactJSON.encode(Nested())
        } throws: { error in
            "\(error)".contains("nested containers")
        }
    }
}

/// Lesson 07's messages take CompactJSON's fast lane (`CompactJSONMessage`): it must write exactly
/// what their Codable conformance writes, and read whatever that reads.
@Suite("CompactJSON fast lane")
struct CompactJSONFastLaneTests {
    /// The Codable lane: inside a generic function the `Encodable` overload is the one chosen.
    static func codableLane<T: Encodable>(_ value: T) throws -> [UInt8] { try CompactJSON.encode(value) }
    static func codableLane<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T { try CompactJSON.decode(type, from: bytes) }

    static let requests: [ManagerRequest] = [
        ManagerRequest(.append, value: 7), ManagerRequest(.count), ManagerRequest(.item, index: -1),
        ManagerRequest(.increment, key: "hits", value: Int.min), ManagerRequest(.set, key: "é \"q\" \\ \n\u{1}🎉", value: Int.max),
        ManagerRequest(.get, key: ""), ManagerRequest(.shutdown), ManagerRequest(.snapshot, index: 0, key: "k", value: 0),
    ]
    static let replies: [ManagerReply] = [
        .success(), .success(value: 42), .success(values: []), .success(values: [1, -2, 3_000_000_000]),
        .failure(ManagerReply.indexOutOfRange), ManagerReply(ok: false, value: -5, values: [0], error: "\t"),
    ]

    /// Each value: the fast lane writes the Codable lane's bytes; Foundation and both lanes read
    /// them back; and what Foundation writes, the fast lane reads.
    static func expectSameAsCodable<T: CompactJSONMessage & Equatable>(_ values: [T]) throws {
        for value in values {
            let fast = try CompactJSON.encode(value)
            #expect(fast == (try codableLane(value)))
            #expect(try JSONDecoder().decode(T.self, from: Data(fast)) == value)
            #expect(try CompactJSON.decode(T.self, from: fast) == value)
            let foundation = Array(try JSONEncoder().encode(value))
            #expect(try CompactJSON.decode(T.self, from: foundation) == value)
        }
    }

    @Test("requests: the same bytes as the Codable lane; Foundation and both lanes read them back")
    func requestsMatchCodable() throws { try Self.expectSameAsCodable(Self.requests) }

    @Test("replies: the same bytes as the Codable lane; Foundation and both lanes read them back")
    func repliesMatchCodable() throws { try Self.expectSameAsCodable(Self.replies) }

    @Test("spaces, other member orders, nulls and unknown members read as the Codable lane reads them")
    func readsLikeCodable() throws {
        let texts = [#" { "value" : 3 , "op" : "append" } "#, #"{"op":"get","key":null,"extra":[1,{"a":2}]}"#,
                     #"{"op":"set","key":"\u00e9","value":-0}"#, #"{"\u006fp":"count","v\u0061lue":5}"#]
        for text in texts {
            let bytes = Array(text.utf8)
            #expect(try CompactJSON.decode(ManagerRequest.self, from: bytes) == (try Self.codableLane(ManagerRequest.self, bytes)))
        }
    }

    @Test("what the Codable lane refuses, the fast lane refuses", arguments: [
        "", "[]", "{}", #"{"op":"explode"}"#, #"{"op":7}"#, #"{"op":"append","value":1.5}"#, #"{"op":"append","value":"7"}"#,
        #"{"op":"item","index":99999999999999999999}"#, #"{"ok":"yes"}"#, #"{"ok":true,"values":[1,"2"]}"#, #"{"ok":true,"values":3}"#,
        #"{"op":"append"} trailing"#, "\u{FF}garbage",
    ])
    func refusesLikeCodable(_ text: String) {
        let bytes = Array(text.utf8)
        let codableRequest = (try? Self.codableLane(ManagerRequest.self, bytes)) != nil
        let codableReply = (try? Self.codableLane(ManagerReply.self, bytes)) != nil
        #expect(((try? CompactJSON.decode(ManagerRequest.self, from: bytes)) != nil) == codableRequest)
        #expect(((try? CompactJSON.decode(ManagerReply.self, from: bytes)) != nil) == codableReply)
    }
}
