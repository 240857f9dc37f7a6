//! The holder's booking of commands.

use std::sync::Arc;

use super::*;
use crate::control::protocol::ControlCommand;
use crate::output::Collected;

/// A holder of a fresh repository's state directory whose executor answers every command with
/// exit 0, and the sender that tells it to stop.
fn holder(dir: &std::path::Path) -> (Holder, watch::Sender<bool>) {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    ]);
    let repo = engine_git::Repo::discover(dir).unwrap();
    let state_dir = engine_store::StateDir::open_locked(&dir.join(".engine"), "test").unwrap();
    let host = Arc::new(
        engine_runtime::Host::new(engine_runtime::HostOptions {
            cache_dir: dir.join("cache"),
        })
        .unwrap(),
    );
    let (holding, stop) = Holding::new(repo, state_dir, host, Arc::new(crate::time::SystemClock));
    let executor: Executor = Arc::new(|_, _, _, _| Box::pin(async { Finish::Exit(0) }));
    let output = Collected::new();
    // The sender stays with the test (the holder's own signal task is never triggered).
    let (signal_stop, _) = watch::channel(false);
    (Holder::start(holding, signal_stop, executor, &output), stop)
}

#[tokio::test]
async fn a_stopping_holder_takes_no_new_run_but_still_answers_quick_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let (holder, stop) = holder(tmp.path());
    let resume = || Request::Resume {
        run: "01ABC".into(),
        json: false,
    };
    let output = || -> Arc<dyn Output> { Arc::new(Collected::new()) };
    let taken = holder
        .submit(resume(), output())
        .expect("a holder takes runs");
    assert!(matches!(taken.await.unwrap(), Finish::Exit(0)));

    stop.send(true).unwrap();
    // A run submitted now would only be handed straight back: refused as "closing", so the
    // terminal waits for this process to exit and then holds the state directory itself.
    assert!(holder.submit(resume(), output()).is_none());
    let pause = Request::Control(ControlCommand::Pause {
        run: "01ABC".into(),
        paused: true,
    });
    let answered = holder
        .submit(pause, output())
        .expect("quick requests still answered");
    assert!(matches!(answered.await.unwrap(), Finish::Exit(0)));
}
