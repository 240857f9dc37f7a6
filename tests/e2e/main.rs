//! The end-to-end tests: the real `engine` binary on temporary git repositories, one module per
//! subject, all in one test binary (one link of wasmtime, one build of the fixture plugins).
//! tests/support holds what they share; docs/testing.md says how to write and run them
//! (`cargo test -p engine --test e2e -- crash::`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

#[path = "../support/mod.rs"]
mod support;

mod agent_host;
mod agent_misconfigured;
mod agent_stage;
mod agent_supervision;
mod approval;
mod budgets;
mod bug_report;
mod caches;
mod clean_head;
mod cli_hygiene;
mod conditions;
mod confinement;
mod constitution;
mod crash;
mod demo;
mod epics;
mod gate_run;
mod gc;
mod git_escape;
mod init;
mod input_hardening;
mod logs;
mod many_runs;
mod mcp;
mod merge;
mod notify;
mod parallel_git;
mod pipeline;
mod plan;
mod plugin_check;
mod plugin_new;
mod plugin_pin;
mod plugin_run;
mod pr_reviews;
mod readonly;
mod readonly_backends;
mod resident_exec;
mod retry_failed_task;
mod retry_pause;
mod review;
mod run_branches;
mod run_history;
mod run_modes;
mod sandbox;
mod serve;
mod serve_lifecycle;
mod serve_security;
mod shipped_workflows;
mod skills;
mod spec_trace;
mod task_sources;
mod tasks;
mod tasks_commands;
mod tasks_sync;
mod template_limits;
mod traces;
mod triage;
mod validate;
mod validate_findings;
mod validated_start;
mod worktree_pool;
