//! Exit codes of the `engine` binary. Scripts may rely on them; `docs/user-guide.md` lists them.

/// The command did what was asked (for `engine run`/`resume`: the run succeeded).
pub const SUCCESS: u8 = 0;
/// The run ended failed.
pub const RUN_FAILED: u8 = 1;
/// Invalid input: bad arguments, an invalid workflow, an unknown run id.
pub const INVALID_INPUT: u8 = 2;
/// The run ended cancelled.
pub const RUN_CANCELLED: u8 = 3;
/// The run stopped before it ended (interrupted by SIGINT/SIGTERM); `engine resume` continues it.
pub const RUN_INTERRUPTED: u8 = 4;
/// The state directory is in use by another engine process.
pub const STATE_BUSY: u8 = 5;
/// The run ended needing attention: a stage decided it should not go on (the task is already
/// done or too vague, an agent kept failing the same way); a human has to look.
pub const RUN_NEEDS_ATTENTION: u8 = 6;
/// A limit stopped a new run before it started (the daily budget is spent, or today's spend
/// cannot be known while one applies); nothing was run.
pub const LIMIT_REACHED: u8 = 7;
/// A plain `engine run` of a workflow with a task source found no ready task: nothing was run
/// (the reasons are printed). `--all` and `watch` exit 0 when the queue is empty.
pub const NO_TASK: u8 = 8;
/// The workflow confines processes (the default) and this machine cannot (no bubblewrap, no
/// user namespaces, not Linux): nothing was run. See docs/security.md.
pub const CANNOT_CONFINE: u8 = 9;
/// Something went wrong inside engine or its environment (disk, git, the store); when it is a
/// bug of engine's own ([`crate::EngineError::Internal`]) the message says so.
pub const INTERNAL: u8 = 70;
