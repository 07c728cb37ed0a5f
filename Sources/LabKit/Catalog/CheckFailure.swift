/// A check that did not hold, told the way a teacher would: what was expected, what was seen,
/// the likely cause, and where to look.
public struct CheckFailure: Error, CustomStringConvertible, Sendable {
    public let summary: String
    public let expected: String?
    public let seen: String?
    public let cause: String?
    public let look: String?

    public init(_ summary: String, expected: String? = nil, seen: String? = nil,
                cause: String? = nil, look: String? = nil) {
        self.summary = summary
        self.expected = expected
        self.seen = seen
        self.cause = cause
        self.look = look
    }

    public var description: String {
        var lines = [summary]
        if let expected { lines.append("expected: \(expected)") }
        if let seen { lines.append("seen:     \(seen)") }
        if let cause { lines.append("likely cause: \(cause)") }
        if let look { lines.append("look at: \(look)") }
        return lines.joined(separator: "\n")
    }
}

/// A part that cannot run here (python3 missing, say). Thrown by a check, reported as skipped.
public struct SkipPart: Error, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Fails the part with `failure` unless `condition` holds.
public func require(_ condition: Bool, _ failure: @autoclosure () -> CheckFailure) throws {
    if !condition { throw failure() }
}

/// Fails the part unless `seen == expected`, quoting both.
public func requireEqual<T: Equatable>(_ seen: T, _ expected: T, _ summary: String,
                                       cause: String? = nil, look: String? = nil) throws {
    if seen != expected {
        throw CheckFailure(summary, expected: "\(expected)", seen: "\(seen)", cause: cause, look: look)
    }
}

/// Runs a contract call and turns anything it throws into a failure naming the call.
public func attempt<T>(_ call: String, look: String? = nil, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let failure as CheckFailure {
        throw failure
    } catch let skip as SkipPart {
        throw skip
    } catch {
        throw CheckFailure("\(call) threw an error", expected: "no error", seen: "\(error)", look: look ?? call)
    }
}

/// Runs `body`, a call that must end by throwing an `E`, and hands that error to `judge`. A
/// `CheckFailure` that `body` throws itself (the call returned, say) goes on as it is; any other
/// error fails the part as "`call` threw the wrong error", expected `expected`.
public func requireThrows<E: Error>(_: E.Type, _ call: String, expected: String, cause: String? = nil, look: String? = nil,
                                    _ body: () throws -> Void, judge: (E) throws -> Void) throws {
    do {
        try body()
    } catch let error as E {
        try judge(error)
    } catch let failure as CheckFailure {
        throw failure
    } catch {
        throw CheckFailure("\(call) threw the wrong error", expected: expected, seen: "\(error)", cause: cause, look: look)
    }
}
