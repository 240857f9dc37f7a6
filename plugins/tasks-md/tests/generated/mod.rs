//! Generated tasks.md files, for the golden tests and the benchmark.

use std::fmt::Write as _;

/// A file of `count` tasks: a milestone every 100, checklists, two dependencies each (on the
/// previous task and on the one at half its number).
pub fn tasks_md(count: u32) -> String {
    let mut text = String::from("# Tasks\n\n");
    for i in 1..=count {
        if i % 100 == 1 {
            let _ = write!(text, "## Milestone {}: Part\n\n", i / 100 + 1);
        }
        let deps = if i > 2 {
            format!("[TASK-{:04}], TASK-{:04}", i - 1, i / 2)
        } else {
            "—".into()
        };
        let _ = write!(
            text,
            "### TASK-{i:04}: Task number {i}\n🔴 P{} | ⬜ TODO | Est: 2d\n\nDescription of task {i}.\n\n\
             **Checklist:**\n- [ ] one\n- [x] two\n- [ ] three\n\n**Traces to:** [REQ-{i:03}]\n\
             **Depends on:** {deps}\n\n",
            i % 4
        );
    }
    text
}
