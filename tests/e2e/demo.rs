//! End-to-end: the demo (workflows/demo.yaml on a copy of examples/demo-repo, the scripted
//! agent, a webhook receiver on 127.0.0.1) runs the whole default pipeline: triage picks a tier,
//! a reviewer asks for a change, a test fails once, the merge lands, the notifier posts.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{cache_dir, engine_bin, outcomes};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {:?}", out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Accepts one HTTP request and returns its body.
fn receive_one(listener: TcpListener) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    })
}

#[test]
fn the_demo_runs_the_whole_pipeline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scratch = tempfile::tempdir().unwrap();
    let repo = scratch.path();
    copy_dir(&root.join("examples/demo-repo"), repo);
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "."]);
    git(
        repo,
        &[
            "-c",
            "user.name=demo",
            "-c",
            "user.email=demo@example.com",
            "commit",
            "-q",
            "-m",
            "demo",
        ],
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let delivery = receive_one(listener);

    let bin_dir = engine_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(engine_bin())
        .args([
            "run",
            root.join("workflows/demo.yaml").to_str().unwrap(),
            "--task",
            "Add a --shout flag to greet.sh that prints the greeting in capitals",
        ])
        .current_dir(repo)
        .env("PATH", path)
        .env("DEMO_WEBHOOK_URL", &url)
        .env("ENGINE_CACHE_DIR", cache_dir())
        .env_remove("ENGINE_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let run_id = String::from_utf8_lossy(&output.stdout).trim().to_string();

    // The story, as the run recorded it.
    let show = Command::new(engine_bin())
        .args(["show", &run_id, "--json"])
        .current_dir(repo)
        .output()
        .unwrap();
    let show: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let outcomes = outcomes(&show);
    assert_eq!(outcomes["triage"], vec!["succeeded"]);
    assert_eq!(
        outcomes["execute"],
        vec!["succeeded", "succeeded", "succeeded"]
    );
    assert_eq!(outcomes["review"], vec!["failed", "succeeded", "succeeded"]);
    assert_eq!(outcomes["test"], vec!["failed", "succeeded"]);
    assert_eq!(outcomes["merge"], vec!["succeeded"]);
    let tier = show["state"]["stages"]["triage"]["outputs"]["tier"]
        .as_str()
        .unwrap();
    assert!(["genius", "smart", "primitive"].contains(&tier), "{tier}");
    assert!(stderr.contains("sent back by review"), "{stderr}");
    assert!(stderr.contains("sent back by test"), "{stderr}");
    assert!(stderr.contains("summary: run"), "{stderr}");

    // The merge landed the feature on main, tests included.
    let shout = Command::new("sh")
        .args(["greet.sh", "--name", "Ada", "--shout"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&shout.stdout), "HELLO, ADA!\n");
    assert!(git(repo, &["log", "--oneline", "main"]).contains("--shout"));

    // The notifier told the receiver how it went.
    let body: serde_json::Value = serde_json::from_str(&delivery.join().unwrap()).unwrap();
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["run"]["id"], run_id.as_str());
    assert_eq!(
        show["state"]["finally"]["notify"]["outcome"]["outcome"],
        "succeeded"
    );
}
