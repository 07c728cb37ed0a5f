import LabKit
import Testing

/// The parser as a pure function of the arguments.
@Suite("Argument parsing")
struct ArgumentParserTests {
    static let commands = [
        CommandSpec("overview", summary: "o"),
        CommandSpec("check", summary: "c", arguments: "[<lesson>]", maximumArguments: 1, options: [
            OptionSpec("solutions", help: ""), OptionSpec("part", value: "K", help: ""),
            OptionSpec("verbose", short: "v", help: ""),
        ]),
    ]

    func parse(_ words: [String]) -> ParseResult {
        parseArguments(words, commands: Self.commands, defaultCommand: "overview")
    }

    @Test("no arguments runs the default command")
    func defaultCommand() { #expect(parse([]) == .run(Invocation(command: "overview"))) }

    @Test("flags, values and --name=value")
    func options() {
        #expect(parse(["check", "1", "--solutions", "--part", "3"])
                == .run(Invocation(command: "check", arguments: ["1"], flags: ["solutions"], values: ["part": "3"])))
        #expect(parse(["check", "--part=2", "-v"])
                == .run(Invocation(command: "check", flags: ["verbose"], values: ["part": "2"])))
    }

    @Test("help anywhere, and version")
    func helpAndVersion() {
        #expect(parse(["--help"]) == .help(command: nil))
        #expect(parse(["check", "1", "--bogus", "-h"]) == .help(command: "check"))
        #expect(parse(["help", "check"]) == .help(command: "check"))
        #expect(parse(["--version"]) == .version)
    }

    @Test("usage errors name the mistake")
    func usageErrors() {
        #expect(parse(["check", "--bogus"]) == .usageError("unknown option '--bogus'", command: "check"))
        #expect(parse(["check", "--part"]) == .usageError("missing value for '--part <K>'", command: "check"))
        #expect(parse(["check", "1", "2"]) == .usageError("unexpected argument '2'", command: "check"))
        #expect(parse(["frobnicate"]) == .usageError("unknown command 'frobnicate'", command: nil))
        #expect(parse(["check", "--solutions=yes"]) == .usageError("'--solutions' takes no value", command: "check"))
    }
}
