//! What `engine spec audit` and `engine spec report` print: text for people, CSV for
//! spreadsheets (JSON is the serialized [`Audit`] and [`Matrix`]). Every piece of user text
//! (titles, ids, milestones) is escaped for the terminal in text, and neutralised in CSV.

use std::fmt::Write as _;

use super::audit::Audit;
use super::csv;
use super::report::{Matrix, Row, TaskRow};
use crate::report::short_sha;
use crate::terminal::safe;

/// The audit as lines `file:line: warning: [kind] message` (`error:` when `strict`), then a
/// summary line.
pub fn audit_text(audit: &Audit, strict: bool) -> String {
    let level = if strict { "error" } else { "warning" };
    let mut out = String::new();
    for f in &audit.findings {
        let _ = writeln!(
            out,
            "{}:{}: {level}: [{}] {}",
            safe(&f.file),
            f.line,
            f.kind.name(),
            safe(&f.message)
        );
    }
    let n = audit.findings.len();
    let found = match n {
        0 => "no findings".to_string(),
        1 => "1 finding".to_string(),
        n => format!("{n} findings"),
    };
    let _ = writeln!(
        out,
        "spec audit: {found} ({} requirement{}, {} design item{}, {} task{})",
        audit.requirements,
        plural(audit.requirements),
        audit.design_items,
        plural(audit.design_items),
        audit.tasks,
        plural(audit.tasks)
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The matrix as text: each requirement, its design items, its tasks and their runs, then the
/// totals.
pub fn report_text(matrix: &Matrix) -> String {
    let mut out = String::new();
    for row in &matrix.requirements {
        write_row(&mut out, row);
    }
    if matrix.requirements.is_empty() {
        out.push_str(if matrix.uncovered_only {
            "every requirement in scope is done\n"
        } else {
            "no requirements\n"
        });
    }
    let t = matrix.totals;
    let scope = matrix
        .milestone
        .as_deref()
        .map(|m| format!(" of milestone {}", safe(m)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "coverage{scope}: {} of {} requirement{} covered by a task, {} done",
        t.covered,
        t.requirements,
        plural(t.requirements),
        t.done
    );
    out
}

fn write_row(out: &mut String, row: &Row) {
    let _ = writeln!(
        out,
        "{}  {}  [{}]  {}",
        safe(&row.id),
        safe(&row.title),
        row.coverage.name(),
        safe(&row.location)
    );
    if !row.design.is_empty() {
        let _ = writeln!(out, "  design  {}", safe(&row.design.join(", ")));
    }
    if row.tasks.is_empty() {
        out.push_str("  no task\n");
    }
    for task in &row.tasks {
        write_task(out, task);
    }
}

fn write_task(out: &mut String, task: &TaskRow) {
    let via = task
        .via
        .as_deref()
        .map(|v| format!("  (via {})", safe(v)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {}  {}  {}{via}",
        safe(&task.id),
        task.status,
        safe(&task.title)
    );
    if task.runs.is_empty() {
        out.push_str("    no runs\n");
    }
    for run in &task.runs {
        let commits = if run.commits.is_empty() {
            "no commits".to_string()
        } else {
            format!(
                "commits {}",
                run.commits
                    .iter()
                    .map(|c| short_sha(c))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        let merged = run
            .merged_commit
            .as_deref()
            .map(|m| format!("  merged {}", short_sha(m)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    run {}  {}  {}  {}{merged}",
            safe(&run.run_id),
            run.status,
            run.created_at,
            safe(&commits)
        );
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 13] = [
    "requirement",
    "requirement_title",
    "coverage",
    "design",
    "task",
    "task_title",
    "task_status",
    "milestone",
    "via",
    "run",
    "run_status",
    "commits",
    "merged_commit",
];

/// The matrix as CSV: a header, then one record per requirement × task × run (a requirement
/// without tasks, or a task without runs, has one record with those columns empty). Design
/// items and commits are joined by spaces.
pub fn report_csv(matrix: &Matrix) -> String {
    let mut out = csv::record(&CSV_HEADER);
    for row in &matrix.requirements {
        let head = [
            row.id.clone(),
            row.title.clone(),
            row.coverage.name().to_string(),
            row.design.join(" "),
        ];
        if row.tasks.is_empty() {
            let mut fields = head.to_vec();
            fields.resize(CSV_HEADER.len(), String::new());
            out.push_str(&csv::record(&fields));
        }
        for task in &row.tasks {
            let task_fields = [
                task.id.clone(),
                task.title.clone(),
                task.status.to_string(),
                task.milestone.clone().unwrap_or_default(),
                task.via.clone().unwrap_or_default(),
            ];
            let runs: Vec<[String; 4]> = if task.runs.is_empty() {
                vec![Default::default()]
            } else {
                task.runs
                    .iter()
                    .map(|r| {
                        [
                            r.run_id.clone(),
                            r.status.clone(),
                            r.commits.join(" "),
                            r.merged_commit.clone().unwrap_or_default(),
                        ]
                    })
                    .collect()
            };
            for run in runs {
                let fields: Vec<String> = head
                    .iter()
                    .chain(&task_fields)
                    .chain(&run)
                    .cloned()
                    .collect();
                out.push_str(&csv::record(&fields));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::audit::{Finding, FindingKind};
    use crate::spec::report::{Coverage, Totals};
    use crate::spec::runs::RunEntry;
    use engine_tasks::TaskStatus;

    fn matrix() -> Matrix {
        Matrix {
            milestone: None,
            uncovered_only: false,
            totals: Totals {
                requirements: 2,
                covered: 1,
                done: 0,
            },
            requirements: vec![
                Row {
                    id: "REQ-001".into(),
                    title: "=cmd|' /C calc'!A0, \"evil\"\x1b[2J".into(),
                    location: "spec/requirements.md:3".into(),
                    design: vec!["DESIGN-001".into(), "DESIGN-002".into()],
                    coverage: Coverage::Open,
                    tasks: vec![TaskRow {
                        id: "TASK-001".into(),
                        title: "two\nlines".into(),
                        status: TaskStatus::InProgress,
                        milestone: Some("Milestone 1: MVP".into()),
                        via: None,
                        runs: vec![RunEntry {
                            run_id: "R1".into(),
                            status: "failed".into(),
                            created_at: "2026-12-07T10:00:00Z".into(),
                            commits: vec!["a".repeat(40), "b".repeat(40)],
                            merged_commit: None,
                        }],
                    }],
                },
                Row {
                    id: "REQ-002".into(),
                    title: "Plain".into(),
                    location: "spec/requirements.md:9".into(),
                    design: vec![],
                    coverage: Coverage::Uncovered,
                    tasks: vec![],
                },
            ],
        }
    }

    #[test]
    fn csv_has_a_record_per_task_run_and_neutralises_user_text() {
        let csv = report_csv(&matrix());
        let expected = format!(
            "requirement,requirement_title,coverage,design,task,task_title,task_status,\
             milestone,via,run,run_status,commits,merged_commit\r\n\
             REQ-001,\"'=cmd|' /C calc'!A0, \"\"evil\"\"\\x1b[2J\",open,DESIGN-001 DESIGN-002,\
             TASK-001,\"two\nlines\",in_progress,Milestone 1: MVP,,R1,failed,{} {},\r\n\
             REQ-002,Plain,uncovered,,,,,,,,,,\r\n",
            "a".repeat(40),
            "b".repeat(40)
        );
        assert_eq!(csv, expected);
    }

    #[test]
    fn text_escapes_control_characters_and_shows_runs() {
        let text = report_text(&matrix());
        assert!(!text.contains('\x1b'), "{text}");
        assert!(
            text.contains("  TASK-001  in_progress  two\\nlines\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "    run R1  failed  2026-12-07T10:00:00Z  commits aaaaaaaaaa bbbbbbbbbb\n"
            ),
            "{text}"
        );
        assert!(text.contains("REQ-002  Plain  [uncovered]  spec/requirements.md:9\n  no task\n"));
        assert!(text.ends_with("coverage: 1 of 2 requirements covered by a task, 0 done\n"));
    }

    #[test]
    fn audit_text_names_file_line_and_level() {
        let audit = Audit {
            requirements: 1,
            design_items: 0,
            tasks: 1,
            findings: vec![Finding {
                kind: FindingKind::UntracedTask,
                file: "spec/tasks.md".into(),
                line: 4,
                id: "TASK-1".into(),
                message: "task TASK-1 traces to nothing".into(),
            }],
        };
        assert_eq!(
            audit_text(&audit, false),
            "spec/tasks.md:4: warning: [untraced-task] task TASK-1 traces to nothing\n\
             spec audit: 1 finding (1 requirement, 0 design items, 1 task)\n"
        );
        assert!(audit_text(&audit, true).starts_with("spec/tasks.md:4: error: "));
    }
}
