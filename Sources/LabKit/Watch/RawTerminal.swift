import Glibc

/// Single keys from the terminal without Enter: canonical mode and echo off on standard input,
/// signals (Ctrl-C) still on. The saved settings come back on every way out: a normal return,
/// `exit` (an `atexit` handler: Ctrl-C during a part ends the lab through `exit(130)`), and a
/// crash signal in the lab itself.
public enum RawTerminal {
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var active = false
    nonisolated(unsafe) static var hooksInstalled = false

    /// Switches standard input to single keys; false when it is not a terminal.
    /// The corresponding C functions are `tcgetattr` and `tcsetattr`.
    @discardableResult
    public static func enter() -> Bool {
        guard isatty(0) == 1, !active else { return active }
        guard tcgetattr(0, &saved) == 0 else { return false }
        installHooks()
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
            cc[Int(VQUIT)] = 0          // no Ctrl-\ core dump that would skip the restore
        }
        guard tcsetattr(0, TCSANOW, &raw) == 0 else { return false }
        active = true
        return true
    }

    /// Puts the saved settings back (async-signal-safe: only `tcsetattr`).
    public static func restore() {
        guard active else { return }
        _ = tcsetattr(0, TCSANOW, &saved)
        active = false
    }

    static func installHooks() {
        guard !hooksInstalled else { return }
        hooksInstalled = true
        atexit { RawTerminal.restore() }
        // A crash of the lab itself: restore, then die of the same signal.
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in
            RawTerminal.restore()
            signal(sig, SIG_DFL)
            raise(sig)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] { sigaction(sig, &action, nil) }
    }
}
