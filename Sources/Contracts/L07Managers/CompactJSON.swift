import Glibc

/// A small, fast JSON coder for `Codable` messages: what a lesson's wire protocol needs (objects,
/// arrays, strings, integers, doubles, booleans, null), written straight into a byte array and
/// parsed from one, with none of Foundation's `Data` round trips. Foundation's `JSONEncoder` and
/// `JSONDecoder` produce and accept the same JSON; this one is several times faster on small
/// messages, which matters when every call of a proxy is a message (lesson 07). Untrusted input is
/// safe: malformed text, absurd nesting (over 64 levels) and wrong types are thrown errors.
public enum CompactJSON {
    /// `value` as compact JSON (no spaces; keys in the order the type encodes them).
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = JSONWriter()
        try writer.encodeValue(value)
        // Codable's container calls cannot throw: what this coder does not support is noted and
        // thrown here, never a crash.
        if let unsupported = writer.unsupported {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "CompactJSON does not support \(unsupported); encode a nested Codable value instead"))
        }
        return writer.text.bytes
    }

    /// Decodes a `T` from JSON text.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        var parser = JSONParser(bytes: bytes)
        let tree = try parser.parseDocument()
        return try T(from: TreeDecoder(value: tree, codingPath: []))
    }

    /// `value` as compact JSON, written by the type itself: the same text as the Codable lane,
    /// without Codable's containers (a few hundred nanoseconds instead of a few microseconds).
    public static func encode<T: CompactJSONMessage>(_ value: T) throws -> [UInt8] {
        var object = ObjectWriter()
        object.text.append(0x7B)
        try value.writeCompactJSON(&object)
        object.text.append(0x7D)
        return object.text.bytes
    }

    /// Decodes a `T` that reads its own members: parsed as for the Codable lane, then read
    /// without Codable's containers.
    public static func decode<T: CompactJSONMessage>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        var parser = JSONParser(bytes: bytes)
        if let members = try parser.parseFlatDocument() {
            return try T(compactJSON: ObjectReader(bytes: bytes, spans: members, named: []))
        }
        // A key with an escape in it: parse again, keys decoded.
        parser = JSONParser(bytes: bytes)
        guard case .object(let members) = try parser.parseDocument() else {
            throw DecodingError.typeMismatch(T.self, DecodingError.Context(codingPath: [], debugDescription: "expected an object"))
        }
        return try T(compactJSON: ObjectReader(bytes: bytes, spans: [], named: members))
    }

    /// Writes the members of one JSON object, in order, leaving out nil values (as Codable's
    /// synthesized `encode(to:)` does with `encodeIfPresent`).
    public struct ObjectWriter {
        var text = JSONText()
        var members = 0

        mutating func key(_ key: StaticString) {
            if members > 0 { text.append(0x2C) }
            members += 1
            text.append(0x22)
            text.writeRaw(key)                               // keys are plain ASCII names
            text.append(0x22)
            text.append(0x3A)
        }

        public mutating func write(_ key: StaticString, _ value: Int?) {
            guard let value else { return }
            self.key(key); text.writeInteger(Int64(value))
        }
        public mutating func write(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            self.key(key); text.writeString(value)
        }
        public mutating func write(_ key: StaticString, _ value: Bool?) {
            guard let value else { return }
            self.key(key); text.writeRaw(value ? "true" : "false")
        }
        public mutating func write(_ key: StaticString, _ values: [Int]?) {
            guard let values else { return }
            self.key(key)
            text.append(0x5B)
            for (i, value) in values.enumerated() {
                if i > 0 { text.append(0x2C) }
                text.writeInteger(Int64(value))
            }
            text.append(0x5D)
        }
    }

    /// The members of one parsed JSON object. A member that is absent or null reads as nil, one
    /// of the wrong type throws `DecodingError.typeMismatch`, like Codable's `decodeIfPresent`.
    public struct ObjectReader {
        let bytes: [UInt8]
        /// Members whose keys are plain text, each key as its range in `bytes` (no String made).
        let spans: [(key: Range<Int>, value: JSONTree)]
        /// Members with decoded keys, when some key had an escape in it.
        let named: [(key: String, value: JSONTree)]

        func member(_ key: StaticString) -> JSONTree? {
            let found: JSONTree? = key.withUTF8Buffer { name in
                bytes.withUnsafeBufferPointer { text in
                    for member in spans where member.key.count == name.count
                        && memcmp(text.baseAddress! + member.key.lowerBound, name.baseAddress!, name.count) == 0 {
                        return member.value
                    }
                    return nil
                }
            }
            if let found {
                if case .null = found { return nil }
                return found
            }
            guard !named.isEmpty else { return nil }
            let text = key.description
            for member in named where member.key == text {
                if case .null = member.value { return nil }
                return member.value
            }
            return nil
        }

        static func path(_ key: StaticString) -> [CodingKey] { [NamedKey(stringValue: key.description)] }

        public func int(_ key: StaticString) throws -> Int? {
            guard let value = member(key) else { return nil }
            return try Scalars.integer(value, Int.self, Self.path(key))
        }
        public func string(_ key: StaticString) throws -> String? {
            guard let value = member(key) else { return nil }
            return try Scalars.string(value, Self.path(key))
        }
        public func bool(_ key: StaticString) throws -> Bool? {
            guard let value = member(key) else { return nil }
            return try Scalars.bool(value, Self.path(key))
        }
        public func ints(_ key: StaticString) throws -> [Int]? {
            guard let value = member(key) else { return nil }
            guard case .array(let elements) = value else { throw Scalars.mismatch(value, "an array", { Self.path(key) }) }
            return try elements.map { try Scalars.integer($0, Int.self, Self.path(key)) }
        }
        /// The member `key`, which must be there (else `DecodingError.keyNotFound`, as Codable's
        /// `decode` throws). Not generic on purpose: called from another module, a generic
        /// function costs a metadata lookup per call.
        public func requiredString(_ key: StaticString) throws -> String {
            guard let value = try string(key) else { throw Self.missing(key) }
            return value
        }
        public func requiredBool(_ key: StaticString) throws -> Bool {
            guard let value = try bool(key) else { throw Self.missing(key) }
            return value
        }

        static func missing(_ key: StaticString) -> DecodingError {
            DecodingError.keyNotFound(NamedKey(stringValue: key.description), DecodingError.Context(codingPath: [], debugDescription: "no \"\(key)\""))
        }
    }

    /// A coding key made from a member's name, for error paths.
    struct NamedKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// What the parser throws for text that is not JSON.
    public struct SyntaxError: Error, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "not JSON at byte \(offset): \(reason)" }
    }
}

/// A message that writes and reads its own members, for `CompactJSON`'s fast lane. It must
/// write exactly what its Codable `encode(to:)` writes (members in the same order, nil ones left
/// out) and read whatever its `init(from:)` reads; the lab's tests compare the two lanes.
public protocol CompactJSONMessage: Codable {
    func writeCompactJSON(_ object: inout CompactJSON.ObjectWriter) throws
    init(compactJSON object: CompactJSON.ObjectReader) throws
}

// MARK: - Encoding

/// JSON text being written: the scalars, each appended with as few `append` calls as possible.
/// A struct, used `inout`: appending to an array inside a class costs a dynamic exclusivity check
/// per call, which for small messages was most of the time.
struct JSONText {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(128) }

    mutating func append(_ byte: UInt8) { bytes.append(byte) }
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
    mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }

    mutating func writeRaw(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    mutating func writeInteger(_ value: Int64) {
        // Digits from the right into a stack buffer, then one append.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)            // 24 bytes: a sign and 20 digits fit
        withUnsafeMutableBytes(of: &digits) { raw in
            var magnitude = value.magnitude
            var start = raw.count
            repeat {
                start -= 1
                raw[start] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { start -= 1; raw[start] = 0x2D }
            append(UnsafeRawBufferPointer(rebasing: raw[start...]))
        }
    }

    mutating func writeUnsigned(_ value: UInt64) {
        if value <= UInt64(Int64.max) { writeInteger(Int64(value)) } else { Array(String(value).utf8).withUnsafeBytes { append($0) } }
    }

    mutating func writeDouble(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(codingPath: [], debugDescription: "JSON has no \(value)"))
        }
        if value == value.rounded(), abs(value) < 1e15 { writeInteger(Int64(value)); return }
        Array("\(value)".utf8).withUnsafeBytes { append($0) }
    }

    mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            // Fast path: nothing to escape, so the quotes and the text go in with one append each.
            if !utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) {
                append(0x22)
                append(utf8)
                append(0x22)
                return
            }
            var escaped: [UInt8] = [0x22]
            escaped.reserveCapacity(utf8.count + 8)
            for byte in utf8 {
                switch byte {
                case 0x22: escaped.append(0x5C); escaped.append(0x22)
                case 0x5C: escaped.append(0x5C); escaped.append(0x5C)
                case 0x0A: escaped.append(0x5C); escaped.append(0x6E)
                case 0x0D: escaped.append(0x5C); escaped.append(0x72)
                case 0x09: escaped.append(0x5C); escaped.append(0x74)
                case 0..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    escaped.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                default: escaped.append(byte)
                }
            }
            escaped.append(0x22)
            escaped.withUnsafeBytes { append($0) }
        }
    }
}

/// The Codable lane's writer: one per `encode`, shared by the containers of every level.
final class JSONWriter {
    var text = JSONText()
    /// The first container call this coder does not support ("nested containers", "superEncoder").
    var unsupported: String?

    /// Notes an unsupported call and hands back a writer whose text is thrown away.
    func refuse(_ what: String) -> JSONWriter {
        if unsupported == nil { unsupported = what }
        return JSONWriter()
    }

    func encodeValue<T: Encodable>(_ value: T) throws {
        // Metatype comparisons, not `as?` casts: a dynamic cast costs more than the whole value.
        if T.self == Int.self { text.writeInteger(Int64(unsafeBitCast(value, to: Int.self))); return }
        if T.self == String.self { text.writeString(unsafeBitCast(value, to: String.self)); return }
        if T.self == Bool.self { text.writeRaw(unsafeBitCast(value, to: Bool.self) ? "true" : "false"); return }
        if T.self == Double.self { try text.writeDouble(unsafeBitCast(value, to: Double.self)); return }
        let level = EncodingLevel()
        try value.encode(to: LevelEncoder(writer: self, level: level, codingPath: []))
        if let closer = level.closer { text.append(closer) } else if !level.wroteSomething { text.writeRaw("{}") }
    }
}

/// One value being encoded: which bracket it opened (and so must close) and how many members it has.
final class EncodingLevel {
    var closer: UInt8?
    var members = 0
    var wroteSomething = false
}

struct LevelEncoder: Encoder {
    let writer: JSONWriter
    let level: EncodingLevel
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if level.closer == nil {
            writer.text.append(0x7B)
            level.closer = 0x7D
            level.wroteSomething = true
        }
        return KeyedEncodingContainer(KeyedWriter<Key>(writer: writer, level: level, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if level.closer == nil {
            writer.text.append(0x5B)
            level.closer = 0x5D
            level.wroteSomething = true
        }
        return UnkeyedWriter(writer: writer, level: level, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        level.wroteSomething = true
        return SingleWriter(writer: writer, codingPath: codingPath)
    }
}

struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONWriter
    let level: EncodingLevel
    var codingPath: [CodingKey]

    func key(_ key: Key) {
        if level.members > 0 { writer.text.append(0x2C) }
        level.members += 1
        writer.text.writeString(key.stringValue)
        writer.text.append(0x3A)
    }

    mutating func encodeNil(forKey key: Key) throws { self.key(key); writer.text.writeRaw("null") }
    mutating func encode(_ value: Bool, forKey key: Key) throws { self.key(key); writer.text.writeRaw(value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) throws { self.key(key); writer.text.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { self.key(key); try writer.text.writeDouble(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { self.key(key); try writer.text.writeDouble(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { self.key(key); writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { self.key(key); writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { self.key(key); writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { self.key(key); writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { self.key(key); writer.text.writeInteger(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { self.key(key); writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { self.key(key); writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { self.key(key); writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { self.key(key); writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { self.key(key); writer.text.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { self.key(key); try writer.encodeValue(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer.refuse("nested containers"), level: EncodingLevel(), codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        UnkeyedWriter(writer: writer.refuse("nested containers"), level: EncodingLevel(), codingPath: codingPath)
    }
    mutating func superEncoder() -> Encoder {
        LevelEncoder(writer: writer.refuse("superEncoder"), level: EncodingLevel(), codingPath: codingPath)
    }
    mutating func superEncoder(forKey key: Key) -> Encoder {
        LevelEncoder(writer: writer.refuse("superEncoder"), level: EncodingLevel(), codingPath: codingPath)
    }
}

struct UnkeyedWriter: UnkeyedEncodingContainer {
    let writer: JSONWriter
    let level: EncodingLevel
    var codingPath: [CodingKey]
    var count: Int { level.members }

    func comma() {
        if level.members > 0 { writer.text.append(0x2C) }
        level.members += 1
    }

    mutating func encodeNil() throws { comma(); writer.text.writeRaw("null") }
    mutating func encode(_ value: Bool) throws { comma(); writer.text.writeRaw(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { comma(); writer.text.writeString(value) }
    mutating func encode(_ value: Double) throws { comma(); try writer.text.writeDouble(value) }
    mutating func encode(_ value: Int) throws { comma(); writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int64) throws { comma(); writer.text.writeInteger(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { comma(); try writer.encodeValue(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer.refuse("nested containers"), level: EncodingLevel(), codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        UnkeyedWriter(writer: writer.refuse("nested containers"), level: EncodingLevel(), codingPath: codingPath)
    }
    mutating func superEncoder() -> Encoder {
        LevelEncoder(writer: writer.refuse("superEncoder"), level: EncodingLevel(), codingPath: codingPath)
    }
}

struct SingleWriter: SingleValueEncodingContainer {
    let writer: JSONWriter
    var codingPath: [CodingKey]

    mutating func encodeNil() throws { writer.text.writeRaw("null") }
    mutating func encode(_ value: Bool) throws { writer.text.writeRaw(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { writer.text.writeString(value) }
    mutating func encode(_ value: Double) throws { try writer.text.writeDouble(value) }
    mutating func encode(_ value: Float) throws { try writer.text.writeDouble(Double(value)) }
    mutating func encode(_ value: Int) throws { writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int8) throws { writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int16) throws { writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int32) throws { writer.text.writeInteger(Int64(value)) }
    mutating func encode(_ value: Int64) throws { writer.text.writeInteger(value) }
    mutating func encode(_ value: UInt) throws { writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { writer.text.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { writer.text.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.encodeValue(value) }
}

// MARK: - Parsing

/// A parsed JSON value. Objects keep their members in order (lookups are linear: messages are small).
enum JSONTree {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONTree])
    case object([(key: String, value: JSONTree)])

    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    static let maximumDepth = 64

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws -> JSONTree {
        let value = try parseValue(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw fail("text after the value") }
        return value
    }

    func fail(_ reason: String) -> CompactJSON.SyntaxError { CompactJSON.SyntaxError(offset: index, reason: reason) }

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func parseValue(depth: Int) throws -> JSONTree {
        guard depth < JSONParser.maximumDepth else { throw fail("nested deeper than \(JSONParser.maximumDepth) levels") }
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case 0x7B: return try parseObject(depth: depth)
        case 0x5B: return try parseArray(depth: depth)
        case 0x22: return .string(try parseString())
        case 0x74: try expectWord("true"); return .bool(true)
        case 0x66: try expectWord("false"); return .bool(false)
        case 0x6E: try expectWord("null"); return .null
        case 0x2D, 0x30...0x39: return try parseNumber()
        default: throw fail("unexpected byte \(bytes[index])")
        }
    }

    mutating func expectWord(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end") }
        let matches = word.withUTF8Buffer { Array($0) == Array(bytes[index..<(index + count)]) }
        guard matches else { throw fail("expected \(word)") }
        index += count
    }

    /// The document as one object whose keys are kept as ranges of `bytes`: nil when a key has
    /// an escape in it (the caller then uses `parseDocument`), a SyntaxError when it is not JSON,
    /// a type mismatch when it is JSON but not an object.
    mutating func parseFlatDocument() throws -> [(key: Range<Int>, value: JSONTree)]? {
        skipSpace()
        guard index < bytes.count, bytes[index] == 0x7B else {
            let value = try parseDocument()                  // a syntax error, or the wrong kind
            throw DecodingError.typeMismatch(Any.self, DecodingError.Context(codingPath: [], debugDescription: "expected an object, found \(value.kind)"))
        }
        index += 1
        var members: [(key: Range<Int>, value: JSONTree)] = []
        members.reserveCapacity(6)
        skipSpace()
        if index < bytes.count, bytes[index] == 0x7D {
            index += 1
        } else {
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == 0x22 else { throw fail("expected a key") }
                index += 1
                let start = index
                while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
                guard index < bytes.count else { throw fail("unterminated string") }
                guard bytes[index] == 0x22 else { return nil }
                // (Bytes that are not UTF-8 match no key, as the Codable lane's repaired String would not.)
                let key = start..<index
                index += 1
                skipSpace()
                guard index < bytes.count, bytes[index] == 0x3A else { throw fail("expected ':'") }
                index += 1
                members.append((key, try parseValue(depth: 1)))
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end") }
                if bytes[index] == 0x2C { index += 1; continue }
                if bytes[index] == 0x7D { index += 1; break }
                throw fail("expected ',' or '}'")
            }
        }
        skipSpace()
        guard index == bytes.count else { throw fail("text after the value") }
        return members
    }

    mutating func parseObject(depth: Int) throws -> JSONTree {
        index += 1
        var members: [(key: String, value: JSONTree)] = []
        members.reserveCapacity(6)                           // one allocation for a small message
        skipSpace()
        if index < bytes.count, bytes[index] == 0x7D { index += 1; return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == 0x22 else { throw fail("expected a key") }
            let key = try parseString()
            skipSpace()
            guard index < bytes.count, bytes[index] == 0x3A else { throw fail("expected ':'") }
            index += 1
            members.append((key, try parseValue(depth: depth + 1)))
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end") }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x7D { index += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int) throws -> JSONTree {
        index += 1
        var elements: [JSONTree] = []
        skipSpace()
        if index < bytes.count, bytes[index] == 0x5D { index += 1; return .array(elements) }
        while true {
            elements.append(try parseValue(depth: depth + 1))
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end") }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x5D { index += 1; return .array(elements) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func parseString() throws -> String {
        index += 1                                           // the opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
        guard index < bytes.count else { throw fail("unterminated string") }
        if bytes[index] == 0x22 {
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            index += 1
            return text
        }
        var utf8 = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == 0x22 { index += 1; return String(decoding: utf8, as: UTF8.self) }
            if byte < 0x20 { throw fail("control character in a string") }
            if byte != 0x5C { utf8.append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { throw fail("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case 0x22: utf8.append(0x22)
            case 0x5C: utf8.append(0x5C)
            case 0x2F: utf8.append(0x2F)
            case 0x62: utf8.append(0x08)
            case 0x66: utf8.append(0x0C)
            case 0x6E: utf8.append(0x0A)
            case 0x72: utf8.append(0x0D)
            case 0x74: utf8.append(0x09)
            case 0x75:
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {   // a surrogate pair
                    guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else { throw fail("lone surrogate") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("bad surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                utf8.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: throw fail("bad escape")
            }
        }
    }

    mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw fail("bad hex digit")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws -> JSONTree {
        let start = index
        var isInteger = true
        if bytes[index] == 0x2D { index += 1 }
        guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw fail("bad number") }
        while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] == 0x2E {
            isInteger = false
            index += 1
            guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw fail("bad number") }
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw fail("bad number") }
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        }
        if isInteger, index - start <= 18 {                  // fits Int64 whatever the digits
            var magnitude: Int64 = 0
            for byte in bytes[(bytes[start] == 0x2D ? start + 1 : start)..<index] { magnitude = magnitude * 10 + Int64(byte - 0x30) }
            return .integer(bytes[start] == 0x2D ? -magnitude : magnitude)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text) else { throw fail("bad number") }
        return .double(value)
    }
}

// MARK: - Decoding

struct TreeDecoder: Decoder {
    let value: JSONTree
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(expected), found \(value.kind)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch("an object") }
        return KeyedDecodingContainer(KeyedReader<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch("an array") }
        return UnkeyedReader(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleReader(value: value, codingPath: codingPath) }
}

/// Turns a tree node into a scalar, or throws a type mismatch.
enum Scalars {
    static func bool(_ value: JSONTree, _ path: @autoclosure () -> [CodingKey]) throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch(value, "a boolean", path) }
        return b
    }

    static func string(_ value: JSONTree, _ path: @autoclosure () -> [CodingKey]) throws -> String {
        guard case .string(let s) = value else { throw mismatch(value, "a string", path) }
        return s
    }

    static func double(_ value: JSONTree, _ path: @autoclosure () -> [CodingKey]) throws -> Double {
        switch value {
        case .double(let d): return d
        case .integer(let i): return Double(i)
        default: throw mismatch(value, "a number", path)
        }
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONTree, _ type: T.Type, _ path: @autoclosure () -> [CodingKey]) throws -> T {
        switch value {
        case .integer(let i):
            guard let v = T(exactly: i) else { throw mismatch(value, "a number that fits \(T.self)", path) }
            return v
        case .double(let d):
            guard let v = T(exactly: d) else { throw mismatch(value, "a whole number that fits \(T.self)", path) }
            return v
        default: throw mismatch(value, "a number", path)
        }
    }

    static func mismatch(_ value: JSONTree, _ expected: String, _ path: () -> [CodingKey]) -> DecodingError {
        .typeMismatch(Any.self, DecodingError.Context(codingPath: path(), debugDescription: "expected \(expected), found \(value.kind)"))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONTree, _ path: @autoclosure () -> [CodingKey]) throws -> T {
        // Metatype comparisons, not `is` casts (see JSONWriter.encodeValue).
        if T.self == Int.self { return unsafeBitCast(try integer(value, Int.self, path()), to: T.self) }
        if T.self == String.self { return unsafeBitCast(try string(value, path()), to: T.self) }
        if T.self == Bool.self { return unsafeBitCast(try bool(value, path()), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try double(value, path()), to: T.self) }
        return try T(from: TreeDecoder(value: value, codingPath: path()))
    }
}

struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [(key: String, value: JSONTree)]
    var codingPath: [CodingKey]

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { members.contains { $0.key == key.stringValue } }

    func member(_ key: Key) throws -> JSONTree {
        let name = key.stringValue
        for member in members where member.key == name { return member.value }
        throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no \"\(name)\""))
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    /// The member, or nil when it is absent or null: one lookup (the default costs three).
    func present(_ key: Key) -> JSONTree? {
        let name = key.stringValue
        for member in members where member.key == name {
            if case .null = member.value { return nil }
            return member.value
        }
        return nil
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let value = present(key) else { return nil }
        return try Scalars.integer(value, Int.self, codingPath + [key])
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = present(key) else { return nil }
        return try Scalars.string(value, codingPath + [key])
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let value = present(key) else { return nil }
        return try Scalars.bool(value, codingPath + [key])
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let value = present(key) else { return nil }
        return try Scalars.double(value, codingPath + [key])
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = present(key) else { return nil }
        return try Scalars.decode(type, value, codingPath + [key])
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Scalars.bool(member(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try Scalars.string(member(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Scalars.double(member(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try Scalars.double(member(key), codingPath + [key])) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Scalars.integer(member(key), Int.self, codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Scalars.integer(member(key), Int8.self, codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Scalars.integer(member(key), Int16.self, codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Scalars.integer(member(key), Int32.self, codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Scalars.integer(member(key), Int64.self, codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try Scalars.integer(member(key), UInt.self, codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try Scalars.integer(member(key), UInt8.self, codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try Scalars.integer(member(key), UInt16.self, codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try Scalars.integer(member(key), UInt32.self, codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try Scalars.integer(member(key), UInt64.self, codingPath + [key]) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try Scalars.decode(type, member(key), codingPath + [key]) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try TreeDecoder(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> Decoder { TreeDecoder(value: .object(members), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> Decoder { TreeDecoder(value: try member(key), codingPath: codingPath + [key]) }
}

struct UnkeyedReader: UnkeyedDecodingContainer {
    let elements: [JSONTree]
    var codingPath: [CodingKey]
    var currentIndex = 0
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    init(elements: [JSONTree], codingPath: [CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    mutating func next() throws -> JSONTree {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, DecodingError.Context(codingPath: codingPath, debugDescription: "the array ended"))
        }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = elements[currentIndex] { currentIndex += 1; return true }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try Scalars.bool(next(), codingPath) }
    mutating func decode(_ type: String.Type) throws -> String { try Scalars.string(next(), codingPath) }
    mutating func decode(_ type: Double.Type) throws -> Double { try Scalars.double(next(), codingPath) }
    mutating func decode(_ type: Int.Type) throws -> Int { try Scalars.integer(next(), Int.self, codingPath) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try Scalars.integer(next(), Int64.self, codingPath) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try Scalars.decode(type, next(), codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: next(), codingPath: codingPath).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        try TreeDecoder(value: next(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superDecoder() throws -> Decoder { TreeDecoder(value: try next(), codingPath: codingPath) }
}

struct SingleReader: SingleValueDecodingContainer {
    let value: JSONTree
    var codingPath: [CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try Scalars.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try Scalars.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Scalars.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try Scalars.double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try Scalars.integer(value, Int.self, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Scalars.integer(value, Int8.self, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Scalars.integer(value, Int16.self, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Scalars.integer(value, Int32.self, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Scalars.integer(value, Int64.self, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Scalars.integer(value, UInt.self, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Scalars.integer(value, UInt8.self, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Scalars.integer(value, UInt16.self, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Scalars.integer(value, UInt32.self, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Scalars.integer(value, UInt64.self, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Scalars.decode(type, value, codingPath) }
}
