//! The supervision limits and token prices a session runs under.

use std::time::Duration;

pub use crate::prices::Prices;

/// Hard limits the host enforces on an agent CLI; no stage can switch them off, only tune them
/// through the workflow. Defaults are the peers' numbers from the reference page.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Kill when there was no output at all and no tool running for this long.
    pub inactivity: Duration,
    /// Emit a [`crate::AgentEvent::SupervisorWarning`] after this long silent with no tool
    /// running (once per silent stretch).
    pub frozen_warning: Duration,
    /// Absolute backstop: kill after this long with no output even while a tool runs.
    pub silence_backstop: Duration,
    /// Warn when the newest running quick tool has run this long.
    pub quick_tool_warn: Duration,
    /// Kill when the newest running quick tool has run this long.
    pub quick_tool_kill: Duration,
    /// Warn when the newest running long tool (see `long_tools`) has run this long.
    pub long_tool_warn: Duration,
    /// Kill when the newest running long tool has run this long.
    pub long_tool_kill: Duration,
    /// Tool names judged as long-running (compared ignoring ASCII case); every other tool is
    /// quick.
    pub long_tools: Vec<String>,
    /// After the terminal result: how long the process may take to exit on its own before it is
    /// killed.
    pub post_result_grace: Duration,
    /// Kill when the session starts more assistant turns than this. A turn opens with the first
    /// assistant text or tool call after a tool result (or at the start) and lasts until the
    /// next tool result, so parallel tool calls of one message are one turn.
    pub max_turns: Option<u32>,
    /// Kill as soon as the session's cost (reported, or computed from tokens and prices) passes
    /// this many USD.
    pub budget_usd: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            inactivity: Duration::from_mins(20),
            frozen_warning: Duration::from_mins(3),
            silence_backstop: Duration::from_mins(50),
            quick_tool_warn: Duration::from_mins(2),
            quick_tool_kill: Duration::from_mins(5),
            long_tool_warn: Duration::from_mins(10),
            long_tool_kill: Duration::from_mins(45),
            long_tools: [
                "Bash",
                "Task",
                "command_execution",
                "shell",
                "run_shell_command",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            post_result_grace: Duration::from_secs(5),
            max_turns: None,
            budget_usd: None,
        }
    }
}

impl Limits {
    /// Whether `tool` is judged against the long-tool ceilings.
    pub fn is_long_tool(&self, tool: &str) -> bool {
        self.long_tools.iter().any(|t| t.eq_ignore_ascii_case(tool))
    }

    /// The shortest duration among the limits: the supervision tick is derived from it.
    pub(crate) fn shortest(&self) -> Duration {
        [
            self.inactivity,
            self.frozen_warning,
            self.silence_backstop,
            self.quick_tool_warn,
            self.quick_tool_kill,
            self.long_tool_warn,
            self.long_tool_kill,
            self.post_result_grace,
        ]
        .into_iter()
        .min()
        .unwrap_or(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_numbers() {
        let limits = Limits::default();
        assert_eq!(limits.inactivity, Duration::from_mins(20));
        assert_eq!(limits.frozen_warning, Duration::from_mins(3));
        assert_eq!(limits.silence_backstop, Duration::from_mins(50));
        assert_eq!(limits.quick_tool_kill, Duration::from_mins(5));
        assert_eq!(limits.long_tool_kill, Duration::from_mins(45));
        assert_eq!(limits.post_result_grace, Duration::from_secs(5));
        assert_eq!(limits.shortest(), Duration::from_secs(5));
    }

    #[test]
    fn long_tools_match_ignoring_case() {
        let limits = Limits::default();
        assert!(limits.is_long_tool("Bash"));
        assert!(limits.is_long_tool("bash"));
        assert!(limits.is_long_tool("command_execution"));
        assert!(!limits.is_long_tool("Read"));
    }
}
