//! `engine show RUN --json`, typed: the run's facts, its status, each stage with its phase,
//! attempts and their outcomes, spend and failures, and the event log. What a stage puts in
//! its outputs differs by stage, so `outputs` (and a failure's `detail`) stay JSON.
//!
//! Only what the tests read is here; the JSON holds more (`raw` has all of it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// What `engine show RUN --json` printed.
#[derive(Debug, Clone, Deserialize)]
pub struct RunReport {
    /// Fixed facts about the run.
    pub meta: Meta,
    /// The run's state after its latest event.
    pub state: State,
    /// The stored events, oldest first.
    pub events: Vec<EventEntry>,
    /// The whole JSON document, for what is not typed here.
    #[serde(skip)]
    pub raw: Value,
}

/// Fixed facts about a run.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    /// The run's id (a ULID).
    pub run_id: String,
    /// The workflow's name.
    pub workflow_name: String,
    /// The workflow YAML as it was when the run was created.
    pub workflow_source: String,
    /// The run's worktree; `None` once removed.
    pub worktree: Option<PathBuf>,
    /// The run's branch.
    pub branch: String,
    /// The branch the run started from.
    pub base_branch: String,
    /// The commit the run started from.
    pub base_commit: String,
}

/// Where a run stands, and every stage's state.
#[derive(Debug, Clone, Deserialize)]
pub struct State {
    /// The run's status.
    pub status: Status,
    /// The task the run works on.
    pub task: Task,
    /// Every stage by id.
    pub stages: BTreeMap<String, Stage>,
    /// Number of events applied.
    pub seq: u64,
    /// What each `finally:` stage did, by id.
    #[serde(default)]
    pub finally: BTreeMap<String, Finally>,
}

/// The run's status: `succeeded`, `failed` (with the stage and message), `cancelled` (with the
/// reason), `needs_attention` (with the stage and reason), `running`, `pending`.
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    /// The status's name.
    #[serde(rename = "status")]
    pub name: String,
    /// The stage that failed or stopped the run.
    pub stage: Option<String>,
    /// A failure's message.
    pub message: Option<String>,
    /// Why the run was cancelled or needs attention.
    pub reason: Option<String>,
}

/// The task of a run.
#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    /// Its id.
    pub id: String,
    /// Its first line.
    pub title: String,
    /// Its full text.
    pub body: String,
}

/// One stage of a run.
#[derive(Debug, Clone, Deserialize)]
pub struct Stage {
    /// Where it stands.
    pub phase: Phase,
    /// The highest attempt number started.
    pub attempts: u32,
    /// How many times it sent the run back.
    pub loops: u32,
    /// Outputs of its successful attempt (`null` before one).
    #[serde(default)]
    pub outputs: Value,
    /// Its latest failure.
    pub last_failure: Option<Failure>,
    /// Every attempt, oldest first.
    pub history: Vec<Attempt>,
}

/// A stage's phase: `pending`, `running`, `retry_waiting`, `awaiting_approval`, `succeeded`,
/// `skipped`, `failed`, `cancelled`.
#[derive(Debug, Clone, Deserialize)]
pub struct Phase {
    /// The phase's name.
    pub phase: String,
}

/// One attempt of a stage.
#[derive(Debug, Clone, Deserialize)]
pub struct Attempt {
    /// Its number.
    #[serde(rename = "attempt")]
    pub number: u32,
    /// When it started (ms since the epoch).
    pub started_at_ms: u64,
    /// When it ended.
    pub ended_at_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// What it spent.
    pub spend: Spend,
    /// Commits it added to the run's branch.
    #[serde(default)]
    pub commits: Vec<String>,
}

/// How an attempt ended: `running`, `succeeded`, `failed` (with the failure), `interrupted`,
/// `cancelled`, `skipped`.
#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    /// The outcome's name.
    pub outcome: String,
    /// A failed attempt's failure.
    pub failure: Option<Failure>,
}

/// Why an attempt failed.
#[derive(Debug, Clone, Deserialize)]
pub struct Failure {
    /// `retryable`, `fatal`, `timed_out` or `needs_attention`.
    pub kind: String,
    /// The message.
    pub message: String,
    /// Structured detail (`null` when there is none).
    #[serde(default)]
    pub detail: Value,
    /// When a retry is due instead of the backoff (ms since the epoch).
    pub retry_at_ms: Option<u64>,
}

/// Money and tokens an attempt spent.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Spend {
    /// Cost in USD of what is known.
    pub cost_usd: f64,
    /// False when some session's cost could not be known.
    pub cost_known: bool,
    /// Some of the cost was estimated from tokens.
    #[serde(default)]
    pub cost_estimated: bool,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// What a `finally:` stage did.
#[derive(Debug, Clone, Deserialize)]
pub struct Finally {
    /// How it ended: `succeeded`, `failed` (with a message) or `skipped`.
    pub outcome: FinallyOutcome,
}

/// How a `finally:` stage ended.
#[derive(Debug, Clone, Deserialize)]
pub struct FinallyOutcome {
    /// The outcome's name.
    pub outcome: String,
    /// A failure's message.
    pub message: Option<String>,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventEntry {
    /// Its sequence number, from 1.
    pub seq: u64,
    /// The event, tagged by `event`.
    pub event: Value,
}

impl EventEntry {
    /// The event's name (`run_started`, `spend_recorded`...).
    pub fn name(&self) -> &str {
        self.event["event"].as_str().unwrap_or("?")
    }
}

impl RunReport {
    /// Asserts that no transition was lost: the event log is gap-free and, stepped through the
    /// core from the stored workflow (relative paths resolved from `repo`), replays to exactly
    /// the stored state.
    #[track_caller]
    pub fn assert_log_replays(&self, repo: &Path) {
        let seqs: Vec<u64> = self.events.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "gap in the event log");
        let loaded = engine_workflow::load_str("workflow.yaml", repo, &self.meta.workflow_source)
            .expect("stored workflow");
        let task: engine_core::Task =
            serde_json::from_value(self.raw["state"]["task"].clone()).expect("the stored task");
        let mut state = engine_core::RunState::new(&self.meta.run_id, task, &loaded.workflow);
        for e in &self.events {
            let event: engine_core::Event =
                serde_json::from_value(e.event.clone()).expect("a stored event");
            state = engine_core::step(&loaded.workflow, &state, &event)
                .expect("every stored event was accepted")
                .state;
        }
        let stored: engine_core::RunState =
            serde_json::from_value(self.raw["state"].clone()).expect("the stored state");
        assert_eq!(state, stored, "replayed state differs from the snapshot");
    }

    /// Parses `engine show --json` output.
    #[track_caller]
    pub fn parse(json: &str) -> RunReport {
        let raw: Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("engine show --json printed no JSON ({e}):\n{json}"));
        let mut report: RunReport = serde_json::from_value(raw.clone())
            .unwrap_or_else(|e| panic!("unexpected `engine show --json` shape ({e}):\n{raw:#}"));
        report.raw = raw;
        report
    }

    /// The run's status name.
    pub fn status(&self) -> &str {
        &self.state.status.name
    }

    /// The stage `id`; fails the test naming the stages there are.
    #[track_caller]
    pub fn stage(&self, id: &str) -> &Stage {
        self.state.stages.get(id).unwrap_or_else(|| {
            panic!(
                "no stage {id:?} in the run; stages: {:?}",
                self.state.stages.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The outcomes of every stage's attempts: `{stage: ["failed", "succeeded"]}`.
    pub fn outcomes(&self) -> BTreeMap<String, Vec<String>> {
        self.state
            .stages
            .iter()
            .map(|(id, stage)| (id.clone(), stage.outcomes()))
            .collect()
    }

    /// The run's worktree; fails the test if it was removed.
    #[track_caller]
    pub fn worktree(&self) -> PathBuf {
        self.meta
            .worktree
            .clone()
            .unwrap_or_else(|| panic!("run {} has no worktree", self.meta.run_id))
    }

    /// The names of the stored events, oldest first.
    pub fn event_names(&self) -> Vec<&str> {
        self.events.iter().map(EventEntry::name).collect()
    }

    /// How the `finally:` stage `id` ended; fails the test if it has not run.
    #[track_caller]
    pub fn finally(&self, id: &str) -> &FinallyOutcome {
        match self.state.finally.get(id) {
            Some(f) => &f.outcome,
            None => panic!("finally stage {id:?} has not run: {:#}", self.raw["state"]),
        }
    }
}

impl Stage {
    /// The phase's name.
    pub fn phase(&self) -> &str {
        &self.phase.phase
    }

    /// The outcome of each attempt, oldest first.
    pub fn outcomes(&self) -> Vec<String> {
        self.history
            .iter()
            .map(|a| a.outcome.outcome.clone())
            .collect()
    }

    /// The latest failure; fails the test if the stage has none.
    #[track_caller]
    pub fn failure(&self) -> &Failure {
        self.last_failure
            .as_ref()
            .unwrap_or_else(|| panic!("the stage has not failed: {:?}", self.history))
    }

    /// Attempt `n` (from 1); fails the test if there is none.
    #[track_caller]
    pub fn attempt(&self, n: u32) -> &Attempt {
        self.history
            .iter()
            .find(|a| a.number == n)
            .unwrap_or_else(|| panic!("no attempt {n}: {:?}", self.history))
    }

    /// The failure of the `i`-th attempt of the history (from 0); fails the test if it did not
    /// fail.
    #[track_caller]
    pub fn failure_of(&self, i: usize) -> &Failure {
        self.history
            .get(i)
            .and_then(|a| a.outcome.failure.as_ref())
            .unwrap_or_else(|| panic!("attempt #{i} did not fail: {:?}", self.history))
    }
}
