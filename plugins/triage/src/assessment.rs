//! What triage concludes, whichever mode reached it.

use crate::tier::Tier;

/// Why a task should not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// The repository already does what the task asks.
    AlreadyDone,
    /// Nobody could start on the task without asking questions.
    TooVague,
    /// The task carries a "do not run" label.
    SkipLabel,
}

impl StopKind {
    /// `already_done`, `too_vague` or `skip_label`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopKind::AlreadyDone => "already_done",
            StopKind::TooVague => "too_vague",
            StopKind::SkipLabel => "skip_label",
        }
    }
}

/// Run the task on a tier, or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run with this tier.
    Run(Tier),
    /// Do not run: a human decides.
    Stop(StopKind),
}

impl Decision {
    /// `run`, or the stop kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Run(_) => "run",
            Decision::Stop(kind) => kind.as_str(),
        }
    }
}

/// Who overrode the tier the rules or the agent chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedBy {
    /// An earlier agent attempt of this run stalled.
    Stall,
    /// `with: { force_tier }`.
    Config,
}

impl ForcedBy {
    /// `stall` or `force_tier`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForcedBy::Stall => "stall",
            ForcedBy::Config => "force_tier",
        }
    }
}

/// The conclusion, with what led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Run on a tier, or stop.
    pub decision: Decision,
    /// One sentence saying why.
    pub reason: String,
    /// Short strings naming what matched (`label:epic -> genius`, `keyword:typo -> primitive`).
    pub signals: Vec<String>,
    /// The tier the rules or the agent chose, when a force replaced it.
    pub suggested_tier: Option<Tier>,
    /// What replaced the chosen tier, if anything did.
    pub forced_by: Option<ForcedBy>,
}

impl Assessment {
    /// Run on `tier` because of `reason`.
    pub fn run(tier: Tier, reason: impl Into<String>, signals: Vec<String>) -> Assessment {
        Assessment {
            decision: Decision::Run(tier),
            reason: reason.into(),
            signals,
            suggested_tier: None,
            forced_by: None,
        }
    }

    /// Stop (`kind`) because of `reason`.
    pub fn stop(kind: StopKind, reason: impl Into<String>, signals: Vec<String>) -> Assessment {
        Assessment {
            decision: Decision::Stop(kind),
            reason: reason.into(),
            signals,
            suggested_tier: None,
            forced_by: None,
        }
    }

    /// The tier, when the task runs.
    pub fn tier(&self) -> Option<Tier> {
        match self.decision {
            Decision::Run(tier) => Some(tier),
            Decision::Stop(_) => None,
        }
    }
}
