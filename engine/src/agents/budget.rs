//! Budgets: what an agent session may still spend, as the smallest of every limit that applies
//! (the session's own cap, the stage's, the run's, the day's).

use engine_core::{RunState, Spend};
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
    /// Some earlier spend counted against these limits could not be known.
    pub earlier_spend_unknown: bool,
}

/// Why nothing may be spent.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted(pub String);

impl BudgetView {
    /// Adds a limit when it is set.
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
            return Err(Exhausted(
                "the cost of earlier agent sessions could not be known, so no budget can be \
                 guaranteed; configure `prices:` for the model"
                    .into(),
            ));
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

/// Milliseconds in a day.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// What every run of the state directory spent on the UTC day of `now_ms`: attempts that ended
/// (or, still running, started) that day. The current run is counted from `current`, which may
/// be newer than its stored copy.
pub fn day_spend(
    store: &dyn Store,
    current_run: &str,
    current: &RunState,
    now_ms: u64,
) -> Result<Spend, EngineError> {
    let day = now_ms / DAY_MS;
    let in_day = |state: &RunState| {
        state
            .stages
            .values()
            .flat_map(|s| &s.history)
            .filter(|r| r.ended_at_ms.unwrap_or(r.started_at_ms) / DAY_MS == day)
            .fold(Spend::NONE, |acc, r| acc + r.spend)
    };
    let mut total = in_day(current);
    for record in store.list()? {
        if record.meta.run_id != current_run {
            total = total + in_day(&record.state);
        }
    }
    Ok(total)
}

/// Refuses to start a new run when `budget.day_usd` is spent (or, failing closed, when what
/// earlier runs spent today cannot be known). Checked before anything of the run exists.
pub fn check_day_budget(
    store: &dyn Store,
    day_budget_usd: Option<f64>,
    now_ms: u64,
) -> Result<(), EngineError> {
    let Some(limit) = day_budget_usd else {
        return Ok(());
    };
    let none = RunState {
        run_id: String::new(),
        task: Default::default(),
        status: engine_core::RunStatus::Pending,
        stages: Default::default(),
        seq: 0,
        started_at_ms: None,
        finished_at_ms: None,
        finally: Default::default(),
    };
    let spent = day_spend(store, "", &none, now_ms)?;
    if !spent.cost_known {
        return Err(EngineError::LimitReached(format!(
            "budget.day_usd is {} but what today's runs spent is not fully known (a CLI that \
             reports no cost and no prices: entry), so no new run starts; add prices: for the \
             model or wait for tomorrow (UTC)",
            format_usd(limit)
        )));
    }
    if spent.cost_usd >= limit {
        return Err(EngineError::LimitReached(format!(
            "budget.day_usd is spent: today's runs cost {} of {} (UTC day); no new run starts \
             until tomorrow or until the limit is raised",
            format_usd(spent.cost_usd),
            format_usd(limit)
        )));
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
}
