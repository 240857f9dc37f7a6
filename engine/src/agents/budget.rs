//! Budgets: what an agent session may still spend, as the smallest of every limit that applies
//! (the session's own cap, the stage's, the run's, the day's).

use engine_core::{RunState, Spend, Task};
use engine_store::Store;

use crate::EngineError;

/// One limit and what was spent against it before this attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// Which budget (`stage budget_usd`, `budget.run_usd`, `budget.day_usd`).
    pub name: &'static str,
    /// The limit in USD.
    pub limit_usd: f64,
    /// Spent against it before this attempt.
    pub spent_before_usd: f64,
}

/// Every limit that applies to an attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BudgetView {
    /// The limits.
    pub limits: Vec<Limit>,
    /// Some earlier spend of this run could not be known (tokens no price covers).
    pub earlier_spend_unknown: bool,
    /// The models of those sessions, when known (for the message).
    pub unpriced_models: Vec<String>,
}

/// Why nothing may be spent.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted(pub String);

impl BudgetView {
    /// Adds a limit when it is set.
    #[must_use]
    pub fn with(mut self, name: &'static str, limit: Option<f64>, spent_before: f64) -> Self {
        if let Some(limit_usd) = limit {
            self.limits.push(Limit {
                name,
                limit_usd,
                spent_before_usd: spent_before,
            });
        }
        self
    }

    /// Whether any budget applies.
    pub fn applies(&self) -> bool {
        !self.limits.is_empty()
    }

    /// What a new session may spend, given what this attempt already spent and the session's own
    /// cap: `Ok(None)` when nothing limits it, `Err` when nothing is left (naming the budget).
    pub fn remaining(
        &self,
        attempt_spent_usd: f64,
        session_cap: Option<f64>,
    ) -> Result<Option<f64>, Exhausted> {
        if self.applies() && self.earlier_spend_unknown {
            let models = match self.unpriced_models.as_slice() {
                [] => "its model".to_string(),
                models => format!("model {}", models.join(", ")),
            };
            return Err(Exhausted(format!(
                "an earlier agent session of this run used tokens that no price covers (its CLI \
                 reports no cost and {models} is not in the built-in price table), so no budget \
                 can be guaranteed for this run; add a `prices:` entry for {models} to the \
                 workflow (USD per million input, output, cache_read and cache_write tokens), \
                 then run the task again"
            )));
        }
        let mut remaining: Option<(f64, &str)> =
            session_cap.map(|c| (c, "the session's budget_usd"));
        for limit in &self.limits {
            let left = limit.limit_usd - limit.spent_before_usd - attempt_spent_usd;
            if remaining.is_none_or(|(r, _)| left < r) {
                remaining = Some((left, limit.name));
            }
        }
        match remaining {
            Some((left, name)) if left <= 0.0 => Err(Exhausted(format!(
                "{name} is spent ({} left)",
                format_usd(left.max(0.0))
            ))),
            other => Ok(other.map(|(left, _)| left)),
        }
    }
}

/// What every run of the state directory spent on the UTC day of `now_ms`: attempts that ended
/// (or, still running, started) that day ([`engine_store::spend_by_day`]). The current run is
/// counted from `current`, which may be newer than its stored copy; the others come from the
/// store's index of spend per day ([`Store::spend_on_day`]), so the cost of this does not grow
/// with the runs of earlier days.
pub fn day_spend(
    store: &dyn Store,
    current_run: &str,
    current: &RunState,
    now_ms: u64,
) -> Result<Spend, EngineError> {
    let day = engine_store::utc_day(now_ms);
    let mut total = engine_store::spend_by_day(current)
        .get(&day)
        .copied()
        .unwrap_or(Spend::NONE);
    for (run_id, spend) in store.spend_on_day(day)? {
        if run_id != current_run {
            total = total + spend;
        }
    }
    Ok(total)
}

/// Refuses to start a new run when `budget.day_usd` is spent. Checked before anything of the
/// run exists. What today's runs spent counts reported and estimated costs; a session whose
/// cost could not be known at all (tokens no price covers) failed its own run closed and is
/// not held against the other runs: it would refuse every run until the next UTC day.
pub fn check_day_budget(
    store: &dyn Store,
    day_budget_usd: Option<f64>,
    now_ms: u64,
) -> Result<(), EngineError> {
    let Some(limit) = day_budget_usd else {
        return Ok(());
    };
    let none = RunState::blank("", Task::default());
    let spent = day_spend(store, "", &none, now_ms)?;
    if spent.cost_usd >= limit {
        let mut how = String::new();
        if spent.cost_estimated {
            how.push_str(", partly estimated from tokens");
        }
        if !spent.cost_known {
            how.push_str(", not counting sessions whose cost is unknown");
        }
        return Err(EngineError::LimitReached(format!(
            "budget.day_usd is spent: today's runs cost {}{how} of {} (UTC day); no new run \
             starts until tomorrow or until the limit is raised",
            format_usd(spent.cost_usd),
            format_usd(limit)
        )));
    }
    if !spent.cost_known {
        tracing::warn!(
            "some of today's agent sessions used tokens no price covers; budget.day_usd counts \
             only what is known (add a `prices:` entry for their model)"
        );
    }
    Ok(())
}

/// `$1.23`.
pub fn format_usd(usd: f64) -> String {
    format!("${usd:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: u64 = engine_store::DAY_MS;

    /// A run with one attempt of stage `work` per `(started, ended, cost)`.
    fn run(run_id: &str, attempts: &[(u64, Option<u64>, f64)]) -> RunState {
        let mut stage = engine_core::StageState::new();
        for (n, (started, ended, cost)) in attempts.iter().enumerate() {
            stage.history.push(engine_core::AttemptRecord {
                attempt: u32::try_from(n).unwrap() + 1,
                started_at_ms: *started,
                ended_at_ms: *ended,
                outcome: engine_core::AttemptOutcome::Running,
                spend: Spend {
                    cost_usd: *cost,
                    ..Spend::NONE
                },
                commits: vec![],
            });
        }
        RunState {
            run_id: run_id.into(),
            stages: std::collections::BTreeMap::from([("work".to_string(), stage)]),
            seq: 0,
            ..no_run()
        }
    }

    fn assert_usd(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-9, "{got} != {want}");
    }

    fn no_run() -> RunState {
        RunState::blank("", Task::default())
    }

    #[test]
    fn the_day_counts_todays_attempts_of_every_run_and_the_current_run_as_it_is_now() {
        let tmp = tempfile::tempdir().unwrap();
        let store = engine_store::SledStore::open(tmp.path()).unwrap();
        let today = 20_000 * DAY_MS;
        let now = today + 12 * 3_600_000;
        let runs = [
            // Yesterday's run: not counted.
            run("01A", &[(today - 7_200_000, Some(today - 3_600_000), 5.0)]),
            // Started yesterday, ended today: today's; a second attempt still running today.
            run(
                "01B",
                &[
                    (today - 60_000, Some(today + 60_000), 1.0),
                    (now - 1, None, 0.5),
                ],
            ),
            // Today's, then stored again with a cheaper second attempt.
            run("01C", &[(now - 10, Some(now - 5), 0.25)]),
            // The current run: its stored copy is older than what the driver holds.
            run("01D", &[(now - 10, Some(now - 5), 100.0)]),
        ];
        for state in &runs {
            let meta = crate::test_fixtures::run_meta(&state.run_id, "engine/x");
            store.create_run(&meta, state).unwrap();
        }
        let mut c = run(
            "01C",
            &[
                (now - 10, Some(now - 5), 0.25),
                (now - 4, Some(now - 3), 0.125),
            ],
        );
        c.seq = 1;
        store
            .commit("01C", &engine_core::Event::RunStarted { at_ms: now }, &c)
            .unwrap();
        let current = run("01D", &[(now - 10, Some(now - 5), 2.0)]);
        let spent = day_spend(&store, "01D", &current, now).unwrap();
        assert_usd(spent.cost_usd, 2.0 + 0.375 + 1.5);
        // The same after the store is opened again (the index is on disk).
        drop(store);
        let store = engine_store::SledStore::open(tmp.path()).unwrap();
        assert_eq!(day_spend(&store, "01D", &current, now).unwrap(), spent);
        // Tomorrow nothing of this counts; yesterday only run A (an attempt counts on the day
        // it ended).
        let on = |ms| day_spend(&store, "", &no_run(), ms).unwrap().cost_usd;
        assert_usd(on(now + DAY_MS), 0.0);
        assert_usd(on(today - 1), 5.0);
        assert!(check_day_budget(&store, Some(100.0), now).is_err());
        assert!(check_day_budget(&store, Some(104.0), now).is_ok());
    }

    #[test]
    fn the_smallest_limit_wins_and_a_spent_one_refuses() {
        let view = BudgetView::default()
            .with("stage budget_usd", Some(2.0), 0.5)
            .with("budget.run_usd", Some(5.0), 4.0)
            .with("budget.day_usd", None, 100.0);
        // run: 5 - 4 - 0.25 = 0.75 < stage: 2 - 0.5 - 0.25 = 1.25
        assert_eq!(view.remaining(0.25, None), Ok(Some(0.75)));
        assert_eq!(view.remaining(0.25, Some(0.5)), Ok(Some(0.5)));
        let err = view.remaining(1.0, None).unwrap_err();
        assert!(err.0.contains("budget.run_usd"), "{err:?}");
        assert_eq!(BudgetView::default().remaining(10.0, None), Ok(None));
    }

    #[test]
    fn unknown_earlier_spend_fails_closed_only_when_a_budget_applies() {
        let view = BudgetView {
            earlier_spend_unknown: true,
            ..BudgetView::default()
        };
        assert_eq!(view.remaining(0.0, None), Ok(None));
        let view = view.with("budget.run_usd", Some(5.0), 0.0);
        assert!(view.remaining(0.0, None).is_err());
    }

    #[test]
    fn the_message_names_the_unpriced_model_and_the_fix() {
        let view = BudgetView {
            earlier_spend_unknown: true,
            unpriced_models: vec!["llama3".into()],
            ..BudgetView::default()
        }
        .with("budget.run_usd", Some(5.0), 0.0);
        let err = view.remaining(0.0, None).unwrap_err();
        assert!(
            err.0.contains("add a `prices:` entry for model llama3"),
            "{err:?}"
        );
    }
}
