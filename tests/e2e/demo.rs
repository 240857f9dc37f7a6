//! End-to-end: the demo (workflows/demo.yaml on a copy of examples/demo-repo, the scripted
//! agent, a webhook receiver on 127.0.0.1) runs the whole default pipeline: triage picks a tier,
//! a reviewer asks for a change, a test fails once, the merge lands, the notifier posts.

use std::process::Command;

use crate::support::http_server::TestServer;
use crate::support::repo::source_root;
use crate::support::{TestRepo, engine_bin};

#[test]
fn the_demo_runs_the_whole_pipeline() {
    let root = source_root();
    let repo = TestRepo::from_dir(&root.join("examples/demo-repo"));
    let receiver = TestServer::answering(200, "");

    // The workflow runs the scripted agent as `engine` from PATH.
    let bin_dir = engine_bin().parent().unwrap().to_path_buf();
    let workflow = root.join("workflows/demo.yaml");
    let r = repo
        .engine()
        .args(["run"])
        .args([&workflow])
        .task("Add a --shout flag to greet.sh that prints the greeting in capitals")
        .path_first(&bin_dir)
        .env("DEMO_WEBHOOK_URL", receiver.url("/hook"))
        .run();
    r.succeeds();
    let run_id = r.run_id();

    // The story, as the run recorded it.
    let report = r.report();
    let outcomes = report.outcomes();
    assert_eq!(outcomes["triage"], ["succeeded"]);
    assert_eq!(outcomes["execute"], ["succeeded", "succeeded", "succeeded"]);
    assert_eq!(outcomes["review"], ["failed", "succeeded", "succeeded"]);
    assert_eq!(outcomes["test"], ["failed", "succeeded"]);
    assert_eq!(outcomes["merge"], ["succeeded"]);
    let tier = report.stage("triage").outputs["tier"].as_str().unwrap();
    assert!(["genius", "smart", "primitive"].contains(&tier), "{tier}");
    // The reviewer personas work at the same time, so their progress lines interleave in any
    // order: the story is checked line by line.
    r.stderr_has("sent back by review")
        .stderr_has("sent back by test")
        .stderr_has("summary: run");

    // The merge landed the feature on main, tests included.
    let shout = Command::new("sh")
        .args(["greet.sh", "--name", "Ada", "--shout"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&shout.stdout), "HELLO, ADA!\n");
    assert!(repo.git(&["log", "--oneline", "main"]).contains("--shout"));

    // The notifier told the receiver how it went.
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body = requests[0].json();
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["run"]["id"], run_id.as_str());
    assert_eq!(report.finally("notify").outcome, "succeeded");
}
