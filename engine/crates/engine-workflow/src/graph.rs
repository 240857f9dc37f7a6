//! Checks over the stage graph: `needs` naming real stages, no stage needing itself, no
//! dependency cycle, and `on_failure.goto` only sending a run back.

use std::collections::HashMap;

use engine_core::Stage;

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::suggest::closest;

/// Adds a problem for every graph error among `stages`; `needs_fields[i][j]` is where
/// `stages[i].needs[j]` was written.
pub(crate) fn check(
    stages: &[Stage],
    needs_fields: &[Vec<FieldPath>],
    problems: &mut Vec<Problem>,
) {
    let index: HashMap<&str, usize> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let field_of = |stage: usize, need: usize| {
        needs_fields
            .get(stage)
            .and_then(|fields| fields.get(need))
            .cloned()
            .unwrap_or_else(|| FieldPath::keys(&["stages", &stages[stage].id, "needs"]))
    };
    // Edges to known stages other than the stage itself, with the position of the entry.
    let mut edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); stages.len()];
    for (i, stage) in stages.iter().enumerate() {
        for (j, need) in stage.needs.iter().enumerate() {
            if *need == stage.id {
                problems.push(Problem::at(
                    field_of(i, j),
                    format!("stage \"{need}\" cannot need itself"),
                ));
            } else if let Some(&target) = index.get(need.as_str()) {
                edges[i].push((target, j));
            } else {
                problems.push(Problem::at(field_of(i, j), unknown_stage(need, stages)));
            }
        }
    }
    for (stage, need, cycle) in cycles(&edges) {
        let names: Vec<&str> = cycle.iter().map(|&i| stages[i].id.as_str()).collect();
        problems.push(Problem::at(
            field_of(stage, need),
            format!(
                "dependency cycle: {} (each stage needs the next)",
                names.join(" -> ")
            ),
        ));
    }
    check_gotos(stages, &index, &edges, problems);
}

fn unknown_stage(name: &str, stages: &[Stage]) -> String {
    let ids = stages.iter().map(|s| s.id.as_str());
    if let Some(near) = closest(name, ids.clone()) {
        format!("unknown stage \"{name}\"; did you mean \"{near}\"?")
    } else {
        let all: Vec<&str> = ids.collect();
        format!("unknown stage \"{name}\" (stages: {})", all.join(", "))
    }
}

/// Every back edge found by a depth-first search in file order, as (stage, needs entry, cycle
/// path starting and ending at the same stage).
fn cycles(edges: &[Vec<(usize, usize)>]) -> Vec<(usize, usize, Vec<usize>)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color = vec![Color::White; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if color[start] != Color::White {
            continue;
        }
        // The DFS path: (stage, next edge to follow).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        color[start] = Color::Gray;
        while let Some(top) = stack.last_mut() {
            let node = top.0;
            let Some(&(target, need)) = edges[node].get(top.1) else {
                color[node] = Color::Black;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match color[target] {
                Color::White => {
                    color[target] = Color::Gray;
                    stack.push((target, 0));
                }
                Color::Gray => {
                    let from = stack.iter().position(|&(n, _)| n == target).unwrap_or(0);
                    let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(target);
                    found.push((node, need, cycle));
                }
                Color::Black => {}
            }
        }
    }
    found
}

fn check_gotos(
    stages: &[Stage],
    index: &HashMap<&str, usize>,
    edges: &[Vec<(usize, usize)>],
    problems: &mut Vec<Problem>,
) {
    for (i, stage) in stages.iter().enumerate() {
        let Some(on_failure) = &stage.on_failure else {
            continue;
        };
        let field = FieldPath::keys(&["stages", &stage.id, "on_failure", "goto"]);
        let goto = on_failure.goto.as_str();
        if goto == stage.id {
            continue;
        }
        let Some(&target) = index.get(goto) else {
            problems.push(Problem::at(field, unknown_stage(goto, stages)));
            continue;
        };
        let ancestors = ancestors(i, edges);
        if !ancestors[target] {
            let mut allowed = vec![stage.id.as_str()];
            allowed.extend(
                stages
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| ancestors[*k])
                    .map(|(_, s)| s.id.as_str()),
            );
            problems.push(Problem::at(
                field,
                format!(
                    "\"{goto}\" is not \"{}\" or a stage it needs (directly or transitively); \
                     on_failure can only send the run back (allowed: {})",
                    stage.id,
                    allowed.join(", ")
                ),
            ));
        }
    }
}

/// Which stages `stage` needs, directly or transitively.
fn ancestors(stage: usize, edges: &[Vec<(usize, usize)>]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut pending = vec![stage];
    while let Some(node) = pending.pop() {
        for &(target, _) in &edges[node] {
            if !seen[target] {
                seen[target] = true;
                pending.push(target);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{Delivery, OnFailure, RetryPolicy};

    fn stage(id: &str, needs: &[&str], goto: Option<&str>) -> Stage {
        Stage {
            id: id.into(),
            needs: needs.iter().map(std::string::ToString::to_string).collect(),
            retry: RetryPolicy::default(),
            approval: None,
            on_failure: goto.map(|g| OnFailure {
                goto: g.into(),
                max_loops: 1,
            }),
            delivery: Delivery::default(),
        }
    }

    fn problems(stages: &[Stage]) -> Vec<String> {
        let fields: Vec<Vec<FieldPath>> = stages
            .iter()
            .map(|s| {
                (0..s.needs.len())
                    .map(|j| FieldPath::keys(&["stages", &s.id, "needs"]).index(j))
                    .collect()
            })
            .collect();
        let mut found = Vec::new();
        check(stages, &fields, &mut found);
        found
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn valid_graph_has_no_problems() {
        let stages = [
            stage("a", &[], None),
            stage("b", &["a"], Some("b")),
            stage("c", &["b"], Some("a")),
        ];
        assert_eq!(problems(&stages), Vec::<String>::new());
    }

    #[test]
    fn unknown_and_self_needs() {
        let stages = [
            stage("build", &[], None),
            stage("test", &["biuld", "test", "zzz"], None),
        ];
        assert_eq!(
            problems(&stages),
            vec![
                "stages.test.needs[0]: unknown stage \"biuld\"; did you mean \"build\"?",
                "stages.test.needs[1]: stage \"test\" cannot need itself",
                "stages.test.needs[2]: unknown stage \"zzz\" (stages: build, test)",
            ]
        );
    }

    #[test]
    fn cycles_are_named() {
        let stages = [
            stage("a", &["c"], None),
            stage("b", &["a"], None),
            stage("c", &["b"], None),
            stage("d", &["a"], None),
        ];
        assert_eq!(
            problems(&stages),
            vec![
                "stages.b.needs[0]: dependency cycle: a -> c -> b -> a (each stage needs the next)"
            ]
        );
    }

    #[test]
    fn goto_must_point_back() {
        let stages = [
            stage("a", &[], None),
            stage("b", &["a"], Some("c")),
            stage("c", &["b"], Some("nope")),
            stage("d", &[], Some("a")),
        ];
        assert_eq!(
            problems(&stages),
            vec![
                "stages.b.on_failure.goto: \"c\" is not \"b\" or a stage it needs (directly or transitively); on_failure can only send the run back (allowed: b, a)",
                "stages.c.on_failure.goto: unknown stage \"nope\" (stages: a, b, c, d)",
                "stages.d.on_failure.goto: \"a\" is not \"d\" or a stage it needs (directly or transitively); on_failure can only send the run back (allowed: d)",
            ]
        );
    }
}
