/// A hand-written parser that behaves like swift-argument-parser: `-h/--help` anywhere,
/// `--name value` and `--name=value`, usage errors for unknown flags and missing values.
/// Parsing is a pure function of the arguments, so it is tested without a process.

/// One option of a command.
public struct OptionSpec: Sendable {
    /// "timeout" for `--timeout`.
    public let long: String
    /// "t" for `-t`, if any.
    public let short: Character?
    /// The placeholder shown in help ("S"); nil for a flag that takes no value.
    public let valueName: String?
    public let help: String
    /// Left out of help (for the lab's own tests).
    public let hidden: Bool

    public init(_ long: String, short: Character? = nil, value: String? = nil, help: String, hidden: Bool = false) {
        self.long = long
        self.short = short
        self.valueName = value
        self.help = help
        self.hidden = hidden
    }
}

/// One command: its words, its options and its help text.
public struct CommandSpec: Sendable {
    public let name: String
    /// One line for the command list.
    public let summary: String
    /// Placeholders after the command name: "<lesson> [<part>]".
    public let arguments: String
    public let minimumArguments: Int
    public let maximumArguments: Int
    public let options: [OptionSpec]
    /// A paragraph or two shown by `--help`.
    public let discussion: String

    public init(_ name: String, summary: String, arguments: String = "", minimumArguments: Int = 0,
                maximumArguments: Int = 0, options: [OptionSpec] = [], discussion: String = "") {
        self.name = name
        self.summary = summary
        self.arguments = arguments
        self.minimumArguments = minimumArguments
        self.maximumArguments = maximumArguments
        self.options = options
        self.discussion = discussion
    }

    /// "lab check <lesson>|all [--solutions] …".
    public var usageLine: String {
        var words = ["lab", name]
        if !arguments.isEmpty { words.append(arguments) }
        for option in options where !option.hidden {
            words.append(option.valueName.map { "[--\(option.long) <\($0)>]" } ?? "[--\(option.long)]")
        }
        return words.joined(separator: " ")
    }
}

/// What the user asked for, once parsed.
public struct Invocation: Equatable, Sendable {
    public let command: String
    public let arguments: [String]
    /// Flags given, by long name.
    public let flags: Set<String>
    /// Options given with a value, by long name.
    public let values: [String: String]

    public init(command: String, arguments: [String] = [], flags: Set<String> = [], values: [String: String] = [:]) {
        self.command = command
        self.arguments = arguments
        self.flags = flags
        self.values = values
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }
}

/// The parser's answer.
public enum ParseResult: Equatable, Sendable {
    case run(Invocation)
    /// Help for a command (nil: the whole tool).
    case help(command: String?)
    case version
    /// A usage error: the message and the command it concerns (nil: the whole tool).
    case usageError(String, command: String?)
}

/// Parses `arguments` (without the program name) against `commands`. An empty list runs
/// `defaultCommand`.
public func parseArguments(_ arguments: [String], commands: [CommandSpec], defaultCommand: String) -> ParseResult {
    var words = arguments[...]
    let commandName: String
    if let first = words.first, !first.hasPrefix("-") {
        if first == "help" {
            let rest = words.dropFirst()
            guard let target = rest.first else { return .help(command: nil) }
            guard commands.contains(where: { $0.name == target }) else {
                return .usageError("unknown command '\(target)'", command: nil)
            }
            return .help(command: target)
        }
        guard commands.contains(where: { $0.name == first }) else {
            return .usageError("unknown command '\(first)'", command: nil)
        }
        commandName = first
        words = words.dropFirst()
    } else {
        if words.contains("--version") { return .version }
        if words.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(command: nil) }
        commandName = defaultCommand
    }
    let spec = commands.first { $0.name == commandName }!
    if words.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(command: commandName) }

    var positionals: [String] = []
    var flags: Set<String> = []
    var values: [String: String] = [:]
    var onlyPositionals = false
    while let word = words.popFirst() {
        if onlyPositionals || !word.hasPrefix("-") || word == "-" {
            positionals.append(word)
            continue
        }
        if word == "--" { onlyPositionals = true; continue }
        var name: Substring
        var inlineValue: String? = nil
        let option: OptionSpec?
        if word.hasPrefix("--") {
            name = word.dropFirst(2)
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = name[..<equals]
            }
            option = spec.options.first { $0.long == name }
        } else {
            guard word.count == 2 else { return .usageError("unknown option '\(word)'", command: commandName) }
            option = spec.options.first { $0.short == word.last }
            name = Substring(option?.long ?? String(word.dropFirst()))
        }
        guard let option else { return .usageError("unknown option '\(word)'", command: commandName) }
        if option.valueName != nil {
            if let inlineValue {
                values[option.long] = inlineValue
            } else if let next = words.first, !next.hasPrefix("--") {
                values[option.long] = next
                words = words.dropFirst()
            } else {
                return .usageError("missing value for '--\(option.long) <\(option.valueName!)>'", command: commandName)
            }
        } else {
            if inlineValue != nil { return .usageError("'--\(option.long)' takes no value", command: commandName) }
            flags.insert(option.long)
        }
    }
    if positionals.count < spec.minimumArguments {
        return .usageError("missing \(spec.arguments.isEmpty ? "argument" : spec.arguments)", command: commandName)
    }
    if positionals.count > spec.maximumArguments {
        return .usageError("unexpected argument '\(positionals[spec.maximumArguments])'", command: commandName)
    }
    return .run(Invocation(command: commandName, arguments: positionals, flags: flags, values: values))
}

/// The text `--help` prints for one command.
public func helpText(for spec: CommandSpec) -> String {
    var text = "OVERVIEW: \(spec.summary)\n\nUSAGE: \(spec.usageLine)\n"
    if !spec.discussion.isEmpty { text += "\n\(spec.discussion)\n" }
    let visible = spec.options.filter { !$0.hidden }
    text += "\nOPTIONS:\n"
    var rows: [(String, String)] = visible.map { option in
        var left = option.short.map { "-\($0), " } ?? ""
        left += "--\(option.long)"
        if let value = option.valueName { left += " <\(value)>" }
        return (left, option.help)
    }
    rows.append(("-h, --help", "Show help information."))
    let width = (rows.map { $0.0.count }.max() ?? 0) + 2
    for (left, right) in rows {
        text += "  " + left + String(repeating: " ", count: width - left.count) + right + "\n"
    }
    return text
}

/// The text `lab --help` prints.
public func toolHelpText(commands: [CommandSpec], abstract: String) -> String {
    var text = "OVERVIEW: \(abstract)\n\nUSAGE: lab [<command>] [<options>]\n\nCOMMANDS:\n"
    let width = (commands.map { $0.name.count }.max() ?? 0) + 2
    for spec in commands {
        text += "  " + spec.name + String(repeating: " ", count: width - spec.name.count) + spec.summary + "\n"
    }
    text += "\nOPTIONS:\n  --version   Show the version.\n  -h, --help  Show help information.\n"
    text += "\nSee 'lab help <command>' or 'lab <command> --help' for detailed help.\n"
    return text
}
