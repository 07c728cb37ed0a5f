import Glibc

/// The seed a part draws its generated inputs from. The runner picks one per `lab check` (or
/// takes `--seed N`) and hands it to each part as `LAB_SEED`; a failure message names it, so
/// `lab check L --part K --seed N` draws the same inputs again.
public enum PartSeed {
    public static let variable = "LAB_SEED"

    /// A new seed from the kernel's randomness (getrandom through `SystemRandomNumberGenerator`),
    /// small enough to type.
    public static func fresh() -> UInt64 { UInt64.random(in: 1...999_999) }

    /// The seed this part process was given; a fresh one when run outside the lab.
    static func fromEnvironment() -> UInt64 {
        if let text = getenv(variable).map({ String(cString: $0) }), let seed = UInt64(text) { return seed }
        return fresh()
    }
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same numbers in
/// every process and on every run.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension PartContext {
    /// A generator for this part's inputs, from the part's seed; `stream` tells apart several
    /// independent sequences in one check.
    public func random(stream: UInt64 = 0) -> SeededRandom {
        SeededRandom(seed: seed &+ stream &* 0x2545_F491_4F6C_DD1D)
    }

    /// Runs `property` on every input, smallest first (by `size`), and fails with the smallest
    /// input it fails on, the seed and the command that draws the same inputs again.
    /// `describe` says what an input is, for the message.
    public func forEachGenerated<Input>(_ inputs: [Input], size: (Input) -> Int, describe: (Input) -> String,
                                        _ property: (Input) throws -> Void) throws {
        for input in inputs.sorted(by: { size($0) < size($1) }) {
            do {
                try property(input)
            } catch let failure as CheckFailure {
                throw failure.withGeneratedInput(describe(input), seed: seed, inputsTried: inputs.count,
                                                 repeatWith: "lab check \(lesson.number) --part \(part.number) --seed \(seed)")
            }
        }
    }
}

extension CheckFailure {
    /// The same failure, saying which generated input it was and how to draw it again.
    public func withGeneratedInput(_ input: String, seed: UInt64, inputsTried: Int, repeatWith command: String) -> CheckFailure {
        CheckFailure(summary + " — smallest failing input of \(inputsTried) generated (seed \(seed)): \(input)",
                     expected: expected, seen: seen, cause: cause,
                     look: [look, "the same inputs again: \(command)"].compactMap { $0 }.joined(separator: "; "))
    }
}
