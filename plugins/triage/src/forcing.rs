//! Tier overrides: a run whose agent stalled earlier is forced to the top tier (the driver
//! says so in the pseudo stage `@run` of the context's outputs), and `with: { force_tier }`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::assessment::{Assessment, Decision, ForcedBy};
use crate::tier::Tier;

/// The pseudo stage id under which the driver passes facts about the run.
pub const RUN_FACTS: &str = "@run";

/// Whether an earlier agent attempt of this run stalled (`@run.stalled` is true).
pub fn run_stalled(outputs: &BTreeMap<String, Value>) -> bool {
    outputs
        .get(RUN_FACTS)
        .and_then(|facts| facts.get("stalled"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Overrides the tier of a task that runs: a stall forces [`Tier::TOP`] (whatever
/// `force_tier` says), else `force_tier` applies. A stopped task stays stopped.
pub fn apply(assessment: &mut Assessment, stalled: bool, force_tier: Option<Tier>) {
    let Decision::Run(chosen) = assessment.decision else {
        return;
    };
    let (tier, by) = match (stalled, force_tier) {
        (true, _) => (Tier::TOP, ForcedBy::Stall),
        (false, Some(tier)) => (tier, ForcedBy::Config),
        (false, None) => return,
    };
    let why = match by {
        ForcedBy::Stall => {
            format!("an earlier agent attempt of this run stalled, so the run is forced to {tier}")
        }
        ForcedBy::Config => format!("force_tier is {tier}"),
    };
    assessment
        .signals
        .push(format!("{} -> {tier}", by.as_str()));
    assessment.reason = if chosen == tier {
        format!("{why} (triage also chose {chosen}: {})", assessment.reason)
    } else {
        format!("{why} (triage chose {chosen}: {})", assessment.reason)
    };
    assessment.decision = Decision::Run(tier);
    assessment.suggested_tier = Some(chosen);
    assessment.forced_by = Some(by);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assessment::StopKind;
    use serde_json::json;

    fn outputs(run: Value) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("execute".to_string(), json!({"stalled": true})),
            (RUN_FACTS.to_string(), run),
        ])
    }

    #[test]
    fn the_stall_flag_is_read_from_the_run_facts_only() {
        assert!(run_stalled(&outputs(
            json!({"stalled": true, "resumed": true})
        )));
        assert!(!run_stalled(&outputs(json!({"stalled": false}))));
        assert!(!run_stalled(&outputs(json!("stalled"))));
        assert!(!run_stalled(&BTreeMap::from([(
            "execute".to_string(),
            json!({"stalled": true})
        )])));
    }

    #[test]
    fn a_stall_forces_genius_whatever_was_chosen_or_configured() {
        let mut a = Assessment::run(Tier::Primitive, "a small task", vec!["size:small".into()]);
        apply(&mut a, true, Some(Tier::Smart));
        assert_eq!(a.decision, Decision::Run(Tier::Genius));
        assert_eq!(a.suggested_tier, Some(Tier::Primitive));
        assert_eq!(a.forced_by, Some(ForcedBy::Stall));
        assert!(
            a.reason
                .starts_with("an earlier agent attempt of this run stalled"),
            "{}",
            a.reason
        );
        assert!(
            a.reason.contains("triage chose primitive: a small task"),
            "{}",
            a.reason
        );
        assert_eq!(a.signals.last().unwrap(), "stall -> genius");
    }

    #[test]
    fn force_tier_applies_without_a_stall() {
        let mut a = Assessment::run(Tier::Genius, "keyword `security`", vec![]);
        apply(&mut a, false, Some(Tier::Primitive));
        assert_eq!(a.tier(), Some(Tier::Primitive));
        assert_eq!(a.forced_by, Some(ForcedBy::Config));
        assert_eq!(a.signals, ["force_tier -> primitive"]);
        let mut same = Assessment::run(Tier::Smart, "x", vec![]);
        apply(&mut same, false, Some(Tier::Smart));
        assert!(
            same.reason.contains("triage also chose smart"),
            "{}",
            same.reason
        );
        let mut untouched = Assessment::run(Tier::Smart, "x", vec![]);
        apply(&mut untouched, false, None);
        assert_eq!(untouched, Assessment::run(Tier::Smart, "x", vec![]));
    }

    #[test]
    fn a_stopped_task_stays_stopped() {
        let mut a = Assessment::stop(StopKind::TooVague, "vague", vec![]);
        apply(&mut a, true, Some(Tier::Genius));
        assert_eq!(a.decision, Decision::Stop(StopKind::TooVague));
        assert_eq!(a.forced_by, None);
    }
}
