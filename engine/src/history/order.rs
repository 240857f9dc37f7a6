//! Stages in pipeline order: the order of the workflow file (`stages:`, then `finally:`), not
//! the alphabetical order the run state keeps them in.

use engine_core::{FinallyRecord, RunState, StageState, Workflow};
use engine_store::{RunMeta, RunRecord};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

/// The order to list a run's stages and `finally:` stages in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageOrder {
    /// Ids of `stages:` in file order.
    pub stages: Vec<String>,
    /// Ids of `finally:` in file order.
    pub finally: Vec<String>,
}

impl StageOrder {
    /// The order of `workflow` (file order).
    pub fn of_workflow(workflow: &Workflow) -> Self {
        StageOrder {
            stages: workflow.stages.iter().map(|s| s.id.clone()).collect(),
            finally: workflow.finally.iter().map(|s| s.id.clone()).collect(),
        }
    }

    /// The order of the workflow run `meta` was started with (its stored text). When that text
    /// no longer loads (a run stored by another version of engine), stages that started are
    /// listed in the order they first started and the others after them by id.
    pub fn of_run(meta: &RunMeta, state: &RunState) -> Self {
        match crate::project::stored_workflow(meta) {
            Ok(loaded) => StageOrder::of_workflow(&loaded.workflow),
            Err(_) => StageOrder::by_start(state),
        }
    }

    /// Stages in the order they first started (never-started ones last, by id); `finally:` by
    /// id.
    pub fn by_start(state: &RunState) -> Self {
        let mut stages: Vec<(&String, &StageState)> = state.stages.iter().collect();
        stages.sort_by_key(|(id, st)| {
            (
                st.history.first().map_or(u64::MAX, |r| r.started_at_ms),
                (*id).clone(),
            )
        });
        StageOrder {
            stages: stages.into_iter().map(|(id, _)| id.clone()).collect(),
            finally: state.finally.keys().cloned().collect(),
        }
    }

    /// `state`'s stages in this order; stages this order does not name come last, by id.
    pub fn stages<'a>(&self, state: &'a RunState) -> Vec<(&'a str, &'a StageState)> {
        in_order(&self.stages, &state.stages)
    }

    /// `state`'s `finally:` records in this order; ids this order does not name come last.
    pub fn finally<'a>(&self, state: &'a RunState) -> Vec<(&'a str, &'a FinallyRecord)> {
        in_order(&self.finally, &state.finally)
    }
}

fn in_order<'a, T>(
    order: &[String],
    map: &'a std::collections::BTreeMap<String, T>,
) -> Vec<(&'a str, &'a T)> {
    let mut out: Vec<(&'a str, &'a T)> = order
        .iter()
        .filter_map(|id| map.get_key_value(id))
        .map(|(id, v)| (id.as_str(), v))
        .collect();
    for (id, v) in map {
        if !order.contains(id) {
            out.push((id.as_str(), v));
        }
    }
    out
}

/// Serializes a [`RunState`] exactly as its own `Serialize` does (same fields, same shape),
/// except that the `stages` and `finally` objects list their keys in pipeline order.
pub struct OrderedState<'a> {
    /// The state.
    pub state: &'a RunState,
    /// The order.
    pub order: &'a StageOrder,
}

struct OrderedMap<'a, T>(Vec<(&'a str, &'a T)>);

impl<T: Serialize> Serialize for OrderedMap<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for OrderedState<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Field for field as `RunState` derives it (a unit test checks they agree).
        let RunState {
            run_id,
            task,
            status,
            stages: _,
            seq,
            started_at_ms,
            finished_at_ms,
            finally,
            paused_at_ms,
            deadline_ms,
        } = self.state;
        let mut s = serializer.serialize_struct("RunState", 10)?;
        s.serialize_field("run_id", run_id)?;
        s.serialize_field("task", task)?;
        s.serialize_field("status", status)?;
        s.serialize_field("stages", &OrderedMap(self.order.stages(self.state)))?;
        s.serialize_field("seq", seq)?;
        s.serialize_field("started_at_ms", started_at_ms)?;
        s.serialize_field("finished_at_ms", finished_at_ms)?;
        if finally.is_empty() {
            s.skip_field("finally")?;
        } else {
            s.serialize_field("finally", &OrderedMap(self.order.finally(self.state)))?;
        }
        for (name, value) in [("paused_at_ms", paused_at_ms), ("deadline_ms", deadline_ms)] {
            match value {
                Some(ms) => s.serialize_field(name, ms)?,
                None => s.skip_field(name)?,
            }
        }
        s.end()
    }
}

/// `engine show --json`'s document, `{meta, state, events}`, with the state's stages in pipeline
/// order (a `serde_json::Value` would sort them by id). `engine bug-report` archives the same
/// document.
#[derive(serde::Serialize)]
pub struct ShowDocument<'a> {
    /// The run's facts.
    pub meta: &'a RunMeta,
    /// The run's state, stages in pipeline order.
    pub state: OrderedState<'a>,
    /// Each stored event as `{"seq", "event"}`.
    pub events: Vec<serde_json::Value>,
}

impl<'a> ShowDocument<'a> {
    /// The document of `record`, its stages listed in `order`, with `events` (seq, event).
    pub fn new<E: Serialize>(
        record: &'a RunRecord,
        order: &'a StageOrder,
        events: impl IntoIterator<Item = (u64, E)>,
    ) -> Self {
        ShowDocument {
            meta: &record.meta,
            state: OrderedState {
                state: &record.state,
                order,
            },
            events: events
                .into_iter()
                .map(|(seq, event)| serde_json::json!({"seq": seq, "event": event}))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{AttemptOutcome, AttemptRecord, FinallyOutcome, Spend, Task};

    const WORKFLOW: &str = r#"
name: wf
stages:
  zeta:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { exec: ["true"] }
  alpha:
    uses: builtin:approval
    needs: [zeta]
finally:
  notify:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { exec: ["true"] }
  audit:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { exec: ["true"] }
"#;

    fn state() -> RunState {
        let mut state = RunState {
            run_id: "R".into(),
            task: Task::default(),
            status: engine_core::RunStatus::Running,
            stages: std::collections::BTreeMap::new(),
            seq: 3,
            started_at_ms: Some(1),
            finished_at_ms: None,
            finally: std::collections::BTreeMap::new(),
            paused_at_ms: None,
            deadline_ms: None,
        };
        for (id, start) in [("alpha", 20), ("zeta", 10)] {
            let mut st = StageState::new();
            st.history.push(AttemptRecord {
                attempt: 1,
                started_at_ms: start,
                ended_at_ms: None,
                outcome: AttemptOutcome::Running,
                spend: Spend::NONE,
                commits: vec![],
            });
            state.stages.insert(id.into(), st);
        }
        state
    }

    #[test]
    fn the_stored_workflow_gives_file_order_else_start_order() {
        let mut meta = crate::test_fixtures::run_meta("R", "b");
        meta.workflow_source = WORKFLOW.into();
        let order = StageOrder::of_run(&meta, &state());
        assert_eq!(order.stages, ["zeta", "alpha"]);
        assert_eq!(order.finally, ["notify", "audit"]);
        meta.workflow_source = "not: a workflow".into();
        let fallback = StageOrder::of_run(&meta, &state());
        assert_eq!(fallback.stages, ["zeta", "alpha"]);
        // Unknown ids come last; ids absent from the state are left out.
        let order = StageOrder {
            stages: vec!["alpha".into(), "gone".into()],
            finally: vec![],
        };
        let state = state();
        let ids: Vec<&str> = order.stages(&state).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["alpha", "zeta"]);
    }

    #[test]
    fn the_ordered_json_has_the_same_content_with_keys_in_pipeline_order() {
        let mut state = state();
        for id in ["audit", "notify"] {
            state.finally.insert(
                id.into(),
                FinallyRecord {
                    at_ms: 5,
                    outcome: FinallyOutcome::Skipped { reason: "r".into() },
                },
            );
        }
        let order = StageOrder {
            stages: vec!["zeta".into(), "alpha".into()],
            finally: vec!["notify".into(), "audit".into()],
        };
        // Paused, with a deadline: those fields are there too.
        state.paused_at_ms = Some(7);
        state.deadline_ms = Some(9);
        for state in [state.clone(), {
            let mut s = state;
            s.finally.clear();
            s.paused_at_ms = None;
            s.deadline_ms = None;
            s
        }] {
            let ordered = OrderedState {
                state: &state,
                order: &order,
            };
            assert_eq!(
                serde_json::to_value(&ordered).unwrap(),
                serde_json::to_value(&state).unwrap()
            );
            let text = serde_json::to_string(&ordered).unwrap();
            assert!(text.find("\"zeta\"") < text.find("\"alpha\""), "{text}");
            if !state.finally.is_empty() {
                assert!(text.find("\"notify\"") < text.find("\"audit\""), "{text}");
            }
        }
    }
}
