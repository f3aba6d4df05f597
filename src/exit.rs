//! Exit codes, one place for all commands. **Contract**: users' CI scripts rely on these numbers.

/// Everything checked passed.
pub const SUCCESS: u8 = 0;
/// The command line is wrong (unknown flag, missing argument).
pub const BAD_COMMAND_LINE: u8 = 1;
/// An input file (scenario, vector, key, config) is unreadable or invalid.
pub const INVALID_INPUT: u8 = 2;
/// A runtime failure: network, server, timeout.
pub const RUNTIME_FAILURE: u8 = 3;
/// A check failed: an assertion, a vector mismatch, a key not active.
pub const CHECK_FAILED: u8 = 4;
