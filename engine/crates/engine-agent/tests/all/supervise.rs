//! The supervisor against real `sh` processes with short limits: every rule fires.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine_testkit::entry_point;

use crate::jsonl_dialect::JsonlParser;
use engine_agent::{
    AgentEvent, Invocation, Limits, Outcome, PriceTable, Prices, Pricing, Session, SessionSpec,
    Summary, SuperviseError,
};

/// How long a test waits for a file a session writes before it gives up (a bound on waiting,
/// not a claim about speed).
const WAIT_FOR_FILES: Duration = Duration::from_secs(15);

/// The last line of scripts whose process must be killed before it gets there: the file it
/// creates proves the process was left to run its course.
const SURVIVED: &str = "touch survived";

/// Generous limits: each test tightens the rule it exercises.
fn relaxed() -> Limits {
    Limits {
        inactivity: Duration::from_secs(30),
        frozen_warning: Duration::from_secs(30),
        silence_backstop: Duration::from_mins(1),
        quick_tool_warn: Duration::from_secs(30),
        quick_tool_kill: Duration::from_secs(30),
        long_tool_warn: Duration::from_secs(30),
        long_tool_kill: Duration::from_secs(30),
        post_result_grace: Duration::from_millis(300),
        ..Limits::default()
    }
}

/// A shell script: each item is a JSON line to print, or a raw shell command when it does not
/// start with `{`.
fn script(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| {
            if item.starts_with('{') {
                format!("printf '%s\\n' '{item}'")
            } else {
                item.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn spec(dir: &Path, script: &str, limits: Limits) -> SessionSpec {
    SessionSpec {
        invocation: Invocation {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            ..Invocation::default()
        },
        cwd: dir.to_path_buf(),
        env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        transcript: dir.join("logs/transcript.jsonl"),
        limits,
        pricing: Pricing::none(),
        model: None,
        redact: Vec::new(),
        confinement: None,
    }
}

struct Ran {
    events: Vec<AgentEvent>,
    summary: Summary,
}

async fn run(spec: SessionSpec) -> Ran {
    let mut session = Session::start(spec, JsonlParser::boxed()).unwrap();
    let mut events = Vec::new();
    while let Some(event) = session.next_event().await {
        events.push(event);
    }
    let summary = session.finish().await;
    Ran { events, summary }
}

/// Whether the script in `dir` ran to its [`SURVIVED`] line instead of being killed first.
fn survived(dir: &Path) -> bool {
    dir.join("survived").exists()
}

fn warnings(events: &[AgentEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::SupervisorWarning { message } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

fn transcript(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("logs/transcript.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Dead, or a zombie waiting for its (new) parent to reap it.
fn is_dead(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| rest.starts_with('Z'))
    })
}

async fn wait_dead(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if is_dead(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn wait_for_file(path: &PathBuf) -> String {
    let deadline = Instant::now() + WAIT_FOR_FILES;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn inactivity_kills_a_silent_agent_with_no_tool_running() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        inactivity: Duration::from_millis(300),
        ..relaxed()
    };
    let ran = run(spec(
        dir.path(),
        &script(&[r#"{"k":"session","id":"s1"}"#, "sleep 30", SURVIVED]),
        limits,
    ))
    .await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::KilledInactive,
        "{}",
        ran.summary.detail
    );
    assert!(
        ran.summary
            .detail
            .contains("with no tool running (inactivity limit 300ms)"),
        "{}",
        ran.summary.detail
    );
    assert_eq!(ran.summary.session_id.as_deref(), Some("s1"));
    assert_eq!(ran.summary.exit_code, None, "killed, not exited");
    assert!(!survived(dir.path()), "the script ran to its end");
    assert!(
        warnings(&ran.events)
            .iter()
            .any(|w| w.starts_with("stopping the agent: no output"))
    );
}

/// A parser that learns usage only at the end (Codex reads it from its rollout file) still
/// reports it when the host killed the session: what was spent is spent.
#[tokio::test]
async fn usage_a_parser_learns_at_the_end_counts_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        inactivity: Duration::from_millis(300),
        ..relaxed()
    };
    let ran = run(spec(
        dir.path(),
        &script(&[
            r#"{"k":"session","id":"s1"}"#,
            r#"{"k":"later","in":1200,"out":30}"#,
            "sleep 30",
        ]),
        limits,
    ))
    .await;
    assert_eq!(ran.summary.outcome, Outcome::KilledInactive);
    assert_eq!(
        (
            ran.summary.usage.input_tokens,
            ran.summary.usage.output_tokens
        ),
        (1200, 30)
    );
}

#[tokio::test]
async fn frozen_warning_comes_before_the_agent_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        frozen_warning: Duration::from_millis(200),
        ..relaxed()
    };
    let items = [
        r#"{"k":"text","text":"thinking"}"#,
        "sleep 1",
        r#"{"k":"result","text":"ok"}"#,
    ];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::Completed,
        "{}",
        ran.summary.detail
    );
    let warned = ran
        .events
        .iter()
        .position(|e| matches!(e, AgentEvent::SupervisorWarning { message } if message.contains("may be frozen")))
        .expect("a frozen warning");
    let result = ran.events.iter().position(AgentEvent::is_terminal).unwrap();
    assert!(warned < result);
    assert_eq!(ran.summary.exit_code, Some(0));
}

#[tokio::test]
async fn a_quick_tool_is_killed_at_the_quick_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        quick_tool_warn: Duration::from_millis(100),
        quick_tool_kill: Duration::from_millis(400),
        ..relaxed()
    };
    let items = [
        r#"{"k":"tool","id":"t1","name":"Read"}"#,
        "sleep 30",
        SURVIVED,
    ];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::KilledToolCeiling,
        "{}",
        ran.summary.detail
    );
    assert!(
        ran.summary.detail.contains("tool `Read` (call t1)"),
        "{}",
        ran.summary.detail
    );
    assert!(
        ran.summary
            .detail
            .contains("past the quick-tool ceiling of 400ms"),
        "{}",
        ran.summary.detail
    );
    assert!(
        warnings(&ran.events)
            .iter()
            .any(|w| w.contains("a quick tool: killed at 400ms"))
    );
    assert_eq!(ran.summary.exit_code, None, "killed, not exited");
    assert!(!survived(dir.path()), "the script ran to its end");
}

#[tokio::test]
async fn a_long_tool_is_judged_by_the_long_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        quick_tool_kill: Duration::from_millis(100),
        long_tool_kill: Duration::from_millis(600),
        ..relaxed()
    };
    let items = [r#"{"k":"tool","id":"t1","name":"Bash"}"#, "sleep 30"];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::KilledToolCeiling,
        "{}",
        ran.summary.detail
    );
    assert!(
        ran.summary
            .detail
            .contains("past the long-tool ceiling of 600ms"),
        "{}",
        ran.summary.detail
    );
}

#[tokio::test]
async fn an_older_orphaned_tool_does_not_trigger_while_a_newer_one_runs() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        quick_tool_kill: Duration::from_millis(700),
        long_tool_kill: Duration::from_secs(20),
        ..relaxed()
    };
    // `Read` never finishes (an orphan); the newest tool, a long `Bash`, runs well past the
    // quick ceiling and then finishes; the session completes.
    let items = [
        r#"{"k":"tool","id":"orphan","name":"Read"}"#,
        r#"{"k":"tool","id":"b1","name":"Bash"}"#,
        "sleep 2",
        r#"{"k":"done","id":"b1"}"#,
        r#"{"k":"result","text":"done"}"#,
    ];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::Completed,
        "{}",
        ran.summary.detail
    );
}

#[tokio::test]
async fn the_silence_backstop_fires_even_while_a_tool_runs() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        inactivity: Duration::from_millis(400),
        silence_backstop: Duration::from_millis(1200),
        ..relaxed()
    };
    let items = [r#"{"k":"tool","id":"t1","name":"Task"}"#, "sleep 30"];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::KilledSilence,
        "{}",
        ran.summary.detail
    );
    assert!(
        ran.summary
            .detail
            .contains("although tool `Task` is running (absolute silence backstop 1.2s)"),
        "{}",
        ran.summary.detail
    );
}

#[tokio::test]
async fn a_cli_hanging_after_its_result_is_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"{"k":"result","text":"all done","turns":2}"#,
        "sleep 60",
        SURVIVED,
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert!(!survived(dir.path()), "the CLI was left to run its course");
    assert_eq!(
        ran.summary.outcome,
        Outcome::Completed,
        "{}",
        ran.summary.detail
    );
    assert_eq!(ran.summary.result_text, "all done");
    assert_eq!(ran.summary.turns, 2);
    assert!(
        ran.summary
            .detail
            .contains("still running 300ms after its result: killed"),
        "{}",
        ran.summary.detail
    );
    assert_eq!(ran.summary.exit_code, None);
}

#[tokio::test]
async fn a_cli_exiting_after_its_result_keeps_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"{"k":"result","error":true,"subtype":"error_during_execution","text":"no"}"#,
        "exit 1",
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::Errored);
    assert_eq!(ran.summary.exit_code, Some(1));
    assert!(
        !ran.summary.detail.contains("killed"),
        "{}",
        ran.summary.detail
    );
}

#[tokio::test]
async fn max_turns_kills_when_a_turn_past_the_limit_starts() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_turns: Some(2),
        ..relaxed()
    };
    let items = [
        r#"{"k":"text","text":"turn 1"}"#,
        r#"{"k":"tool","id":"a","name":"Read"}"#,
        r#"{"k":"tool","id":"b","name":"Read"}"#,
        r#"{"k":"done","id":"a"}"#,
        r#"{"k":"done","id":"b"}"#,
        r#"{"k":"tool","id":"c","name":"Edit"}"#,
        r#"{"k":"done","id":"c"}"#,
        r#"{"k":"text","text":"turn 3"}"#,
        r#"{"k":"text","text":"never seen"}"#,
        "sleep 30",
        SURVIVED,
    ];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::MaxTurns,
        "{}",
        ran.summary.detail
    );
    assert_eq!(ran.summary.turns, 3);
    assert_eq!(
        ran.summary.detail,
        "assistant turn 3 started, past max_turns 2"
    );
    let texts: Vec<&AgentEvent> = ran
        .events
        .iter()
        .filter(|e| matches!(e, AgentEvent::AssistantText { .. }))
        .collect();
    assert_eq!(
        texts.len(),
        2,
        "nothing is parsed after the kill: {texts:?}"
    );
    assert_eq!(ran.summary.exit_code, None, "killed, not exited");
    assert!(!survived(dir.path()), "the script ran to its end");
}

fn costs(events: &[AgentEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Usage { usage } => usage.cost_usd,
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_budget_kill_comes_at_the_first_cost_past_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        budget_usd: Some(1.0),
        ..relaxed()
    };
    // Emitted as fast as the shell can: the kill must still stop at the first update past $1.
    let items = [
        r#"{"k":"usage","cost":0.4}"#,
        r#"{"k":"usage","cost":0.8}"#,
        r#"{"k":"usage","cost":1.2}"#,
        r#"{"k":"usage","cost":1.6}"#,
        r#"{"k":"usage","cost":2.0}"#,
        r#"{"k":"result","text":"done","cost":2.4}"#,
        "sleep 30",
    ];
    let mut session = Session::start(
        spec(dir.path(), &script(&items), limits),
        JsonlParser::boxed(),
    )
    .unwrap();
    let mut events = Vec::new();
    while let Some(event) = session.next_event().await {
        if let AgentEvent::Usage { usage } = &event
            && usage.cost_usd == Some(0.4)
        {
            assert!(session.spent_usd().is_some_and(|s| s >= 0.4));
        }
        events.push(event);
    }
    assert_eq!(session.spent_usd(), Some(1.2));
    let summary = session.finish().await;
    assert_eq!(
        summary.outcome,
        Outcome::BudgetExceeded,
        "{}",
        summary.detail
    );
    assert_eq!(summary.detail, "spent $1.2000, past the budget of $1.0000");
    assert_eq!(costs(&events), [0.4, 0.8, 1.2]);
    assert!(!events.iter().any(AgentEvent::is_terminal));
    assert_eq!(summary.usage.cost_usd, Some(1.2));
}

#[tokio::test]
async fn the_budget_is_judged_on_computed_cost_when_the_cli_reports_none() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        budget_usd: Some(1.0),
        ..relaxed()
    };
    let items = [
        r#"{"k":"usage","in":600000}"#,
        r#"{"k":"usage","in":900000,"out":20000}"#,
        r#"{"k":"usage","in":1200000,"out":40000}"#,
        "sleep 30",
    ];
    let mut spec = spec(dir.path(), &script(&items), limits);
    spec.model = Some("m".into());
    spec.pricing = Pricing::with_workflow(PriceTable::new([(
        "m".to_string(),
        Prices {
            input_per_mtok: 1.0,
            output_per_mtok: 10.0,
            ..Prices::default()
        },
    )]));
    let ran = run(spec).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::BudgetExceeded,
        "{}",
        ran.summary.detail
    );
    // 0.6, then 0.9 + 0.2 = 1.1: killed at the second update.
    assert_eq!(ran.summary.usage.input_tokens, 900_000);
    assert!((ran.summary.usage.cost_usd.unwrap() - 1.1).abs() < 1e-9);
}

#[tokio::test]
async fn a_process_ending_without_a_result_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"{"k":"text","text":"working"}"#,
        "echo 'boom: segfault' >&2",
        "exit 3",
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::Crashed);
    assert_eq!(ran.summary.exit_code, Some(3));
    assert_eq!(
        ran.summary.detail,
        "the process exited with code 3 without a result; last stderr: boom: segfault"
    );
}

#[tokio::test]
async fn an_auth_failure_explains_a_process_without_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let items = [r#"{"k":"auth","msg":"OAuth token has expired"}"#, "exit 1"];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::AuthFailed);
    assert!(ran.summary.detail.contains("OAuth token has expired"));
}

#[tokio::test]
async fn a_usage_limit_result_is_rate_limited_with_its_reset_time() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"{"k":"rate","resets":1767225600000,"msg":"You have hit your limit"}"#,
        r#"{"k":"result","error":true,"text":"limit"}"#,
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::RateLimited);
    assert_eq!(ran.summary.resets_at_ms, Some(1_767_225_600_000));
}

#[tokio::test]
async fn only_the_first_result_counts() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"{"k":"result","text":"first","session":"s9"}"#,
        r#"{"k":"result","error":true,"text":"second"}"#,
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::Completed);
    assert_eq!(ran.summary.result_text, "first");
    assert_eq!(ran.summary.session_id.as_deref(), Some("s9"));
    assert_eq!(ran.events.iter().filter(|e| e.is_terminal()).count(), 1);
}

#[tokio::test]
async fn the_stdin_prompt_is_delivered_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let items = ["cat > prompt.txt", r#"{"k":"result"}"#];
    let mut spec = spec(dir.path(), &script(&items), relaxed());
    let prompt = "a long prompt\nwith 'quotes' and $dollars\n".repeat(10_000);
    spec.invocation.stdin = Some(prompt.clone().into_bytes());
    let ran = run(spec).await;
    assert_eq!(
        ran.summary.outcome,
        Outcome::Completed,
        "{}",
        ran.summary.detail
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("prompt.txt")).unwrap(),
        prompt
    );
}

#[tokio::test]
async fn stdin_is_null_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"printf '{"k":"text","text":"%s"}\n' "$(wc -c | tr -d ' ')""#,
        r#"{"k":"result"}"#,
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert!(
        ran.events
            .contains(&AgentEvent::AssistantText { text: "0".into() }),
        "{:?}",
        ran.events
    );
}

#[tokio::test]
async fn invocation_files_are_written_before_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"printf '{"k":"text","text":"%s"}\n' "$(cat scratch/prompt.md)""#,
        r#"{"k":"result"}"#,
    ];
    let mut spec = spec(dir.path(), &script(&items), relaxed());
    spec.invocation.files = vec![(PathBuf::from("scratch/prompt.md"), "from a file".into())];
    let ran = run(spec).await;
    assert!(ran.events.contains(&AgentEvent::AssistantText {
        text: "from a file".into()
    }));
}

#[tokio::test]
async fn the_environment_is_exactly_what_was_given() {
    let dir = tempfile::tempdir().unwrap();
    // Cargo sets this for the test process; the child must not inherit it.
    assert!(std::env::var("CARGO_PKG_NAME").is_ok());
    let mut spec = spec(
        dir.path(),
        &script(&["env", r#"{"k":"result"}"#]),
        relaxed(),
    );
    spec.env.push(("FROM_SPEC".into(), "one".into()));
    spec.invocation.env = vec![("FROM_BACKEND".into(), "two".into())];
    let ran = run(spec).await;
    let lines: Vec<&str> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Unknown { raw } => Some(raw.as_str()),
            _ => None,
        })
        .collect();
    assert!(lines.contains(&"FROM_SPEC=one"), "{lines:?}");
    assert!(lines.contains(&"FROM_BACKEND=two"), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("PATH=")));
    assert!(
        !lines.iter().any(|l| l.starts_with("CARGO_PKG_NAME=")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("HOME=")), "{lines:?}");
}

#[tokio::test]
async fn a_kill_takes_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        inactivity: Duration::from_millis(300),
        ..relaxed()
    };
    let items = ["sleep 60 &", "echo $! > grandchild.pid", "sleep 60"];
    let ran = run(spec(dir.path(), &script(&items), limits)).await;
    assert_eq!(ran.summary.outcome, Outcome::KilledInactive);
    let pid: i32 = std::fs::read_to_string(dir.path().join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_dead(pid).await, "grandchild {pid} survived");
}

#[tokio::test]
async fn background_children_die_when_the_cli_exits() {
    let dir = tempfile::tempdir().unwrap();
    // The grandchild keeps stdout open: the session must still end, and kill it rather than
    // wait for it to finish.
    let items = [
        "(sleep 60; touch survived) &",
        "echo $! > grandchild.pid",
        r#"{"k":"result"}"#,
        "exit 0",
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::Completed);
    assert_eq!(ran.summary.exit_code, Some(0));
    assert!(
        !survived(dir.path()),
        "the session waited for the grandchild"
    );
    let pid: i32 = std::fs::read_to_string(dir.path().join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_dead(pid).await, "grandchild {pid} survived");
}

#[tokio::test]
async fn dropping_a_session_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let items = ["sleep 60 &", "echo $! > grandchild.pid", "sleep 60"];
    let session = Session::start(
        spec(dir.path(), &script(&items), relaxed()),
        JsonlParser::boxed(),
    )
    .unwrap();
    let child = i32::try_from(session.pid().unwrap()).unwrap();
    let pid: i32 = wait_for_file(&dir.path().join("grandchild.pid"))
        .await
        .trim()
        .parse()
        .unwrap();
    drop(session);
    assert!(wait_dead(pid).await, "grandchild {pid} survived");
    assert!(wait_dead(child).await, "the CLI {child} survived");
}

#[tokio::test]
async fn cancel_stops_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let items = [r#"{"k":"session","id":"s2"}"#, "sleep 60", SURVIVED];
    let mut session = Session::start(
        spec(dir.path(), &script(&items), relaxed()),
        JsonlParser::boxed(),
    )
    .unwrap();
    assert!(matches!(
        session.next_event().await,
        Some(AgentEvent::SessionStarted { .. })
    ));
    session.cancel();
    let summary = session.finish().await;
    assert_eq!(summary.outcome, Outcome::Cancelled);
    assert_eq!(summary.session_id.as_deref(), Some("s2"));
    assert_eq!(summary.exit_code, None, "killed, not exited");
    assert!(!survived(dir.path()), "the script ran to its end");
}

#[tokio::test]
async fn the_transcript_keeps_every_line_and_every_decision() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        r#"{"k":"text","text":"hello"}"#,
        "echo 'not json at all'",
        "echo 'a warning on stderr' >&2",
        r#"{"k":"result","text":"done"}"#,
        "sleep 60",
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert!(ran.events.contains(&AgentEvent::Unknown {
        raw: "not json at all".into()
    }));
    let entries = transcript(dir.path());
    let has = |stream: &str, line: &str| {
        entries
            .iter()
            .any(|e| e["stream"] == stream && e["line"] == line)
    };
    assert!(has("stdout", r#"{"k":"text","text":"hello"}"#));
    assert!(has("stdout", "not json at all"));
    assert!(has("stderr", "a warning on stderr"));
    assert!(has("stdout", r#"{"k":"result","text":"done"}"#));
    let supervisor: Vec<&str> = entries
        .iter()
        .filter(|e| e["stream"] == "supervisor")
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert!(
        supervisor[0].starts_with("started `sh -c"),
        "{supervisor:?}"
    );
    assert!(
        supervisor
            .iter()
            .any(|l| l.contains("after its result: killed")),
        "{supervisor:?}"
    );
    assert!(
        supervisor
            .last()
            .unwrap()
            .starts_with("session ended: Completed"),
        "{supervisor:?}"
    );
    let times: Vec<u64> = entries.iter().map(|e| e["t"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn an_overlong_line_is_capped_and_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let items = [
        "head -c 9000000 /dev/zero | tr '\\0' a",
        "echo",
        r#"{"k":"result","text":"after"}"#,
    ];
    let ran = run(spec(dir.path(), &script(&items), relaxed())).await;
    assert_eq!(ran.summary.outcome, Outcome::Completed);
    assert_eq!(ran.summary.result_text, "after");
    let entries = transcript(dir.path());
    let long = entries
        .iter()
        .find(|e| e["truncated"] == true)
        .expect("a truncated line");
    assert_eq!(long["line"].as_str().unwrap().len(), 8 * 1024 * 1024);
}

#[tokio::test]
async fn a_missing_program_says_it_is_not_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), "", relaxed());
    spec.invocation.program = "engine-no-such-agent-cli".into();
    let err = Session::start(spec, JsonlParser::boxed()).unwrap_err();
    assert!(
        matches!(&err, SuperviseError::Spawn { program, .. } if program == "engine-no-such-agent-cli")
    );
    assert_eq!(
        err.to_string(),
        "cannot start `engine-no-such-agent-cli`: not found on PATH (is it installed?)"
    );
}

/// Set for the copy of this test binary that plays the engine in
/// `the_cli_dies_with_the_engine`.
const ENGINE_ROLE: &str = "ENGINE_AGENT_TEST_ENGINE_DIR";

/// The "engine": starts a CLI that records its pid, then waits to be `SIGKILLed`. The child half
/// of `the_cli_dies_with_the_engine`.
#[tokio::test]
#[ignore = "entry point of the_cli_dies_with_the_engine, which runs it in a process it kills"]
async fn engine_role_for_the_death_test() {
    let dir = PathBuf::from(entry_point::input(ENGINE_ROLE).unwrap());
    let items = ["echo $$ > cli.tmp", "mv cli.tmp cli.pid", "exec sleep 60"];
    let _session =
        Session::start(spec(&dir, &script(&items), relaxed()), JsonlParser::boxed()).unwrap();
    tokio::time::sleep(Duration::from_mins(1)).await;
}

#[tokio::test]
async fn the_cli_dies_with_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = entry_point::command(module_path!(), "engine_role_for_the_death_test")
        .unwrap()
        .env(ENGINE_ROLE, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cli: i32 = wait_for_file(&dir.path().join("cli.pid"))
        .await
        .trim()
        .parse()
        .unwrap();
    assert!(!is_dead(cli));
    engine.kill().unwrap(); // SIGKILL: no destructor, no Drop guard runs
    engine.wait().unwrap();
    assert!(wait_dead(cli).await, "the CLI {cli} outlived the engine");
}
