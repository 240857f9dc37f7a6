//! The host side of a resident sandbox against a server played by the test (no bubblewrap):
//! what it sends (descriptors included) and how it takes well-formed, malformed and missing
//! answers.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdStream;

use super::*;
use crate::resident_server::receive;

/// A resident whose "sandbox" is a `sleep` in its own group, and the server's end of its socket.
fn fake() -> (Resident, StdStream) {
    let (host, server) = StdStream::pair().unwrap();
    let mut command = tokio::process::Command::new("sleep");
    command.arg("600").stdin(Stdio::null());
    lead_new_group(&mut command);
    let child = command.spawn().unwrap();
    let group = ProcessGroup::led_by(&child, false);
    host.set_nonblocking(true).unwrap();
    let resident = Resident {
        child,
        group,
        socket: tokio::net::UnixStream::from_std(host).unwrap(),
        tmp_dir: "/attempt/tmp".into(),
        _start: StartGuard::default(),
    };
    (resident, server)
}

fn command<'a>(env: &'a [(String, String)], args: &'a [String]) -> ResidentCommand<'a> {
    ResidentCommand {
        program: Path::new("/bin/echo"),
        args,
        env,
        cwd: Path::new("/work"),
    }
}

/// Plays the server for one request: checks it, writes into the command's stdout, answers
/// `reply` (raw bytes).
fn serve_once(
    server: StdStream,
    reply: Vec<u8>,
) -> std::thread::JoinHandle<(WireRequest, StdStream)> {
    std::thread::spawn(move || {
        let (request, [stdout, _stderr]) = receive(&server).unwrap().expect("a request");
        std::fs::File::from(stdout)
            .write_all(b"from the command\n")
            .unwrap();
        (&server).write_all(&reply).unwrap();
        (request, server)
    })
}

#[tokio::test]
async fn a_command_goes_out_with_its_pipes_and_the_sandbox_tmp_dir_and_its_end_comes_back() {
    let (mut resident, server) = fake();
    let env = vec![
        ("TMPDIR".to_string(), "/elsewhere".to_string()),
        ("A".to_string(), "1".to_string()),
    ];
    let args = vec!["hello".to_string(), "x".repeat(300_000)];
    let (mut stdout, stdout_write) = output_pipe().unwrap();
    let (_stderr, stderr_write) = output_pipe().unwrap();
    let server = serve_once(server, Reply::Signaled(15).encode().to_vec());
    let ended = resident
        .run(&command(&env, &args), stdout_write, stderr_write)
        .await
        .unwrap();
    assert!(matches!(ended, Ended::Signaled(15)), "{ended:?}");
    let (request, _server) = server.join().unwrap();
    assert_eq!(request.program, Path::new("/bin/echo"));
    assert_eq!(request.args.len(), 2);
    assert_eq!(request.args[1].len(), 300_000);
    let tmp: Vec<_> = request
        .env
        .iter()
        .filter(|(k, _)| k == "TMPDIR")
        .map(|(_, v)| v.clone())
        .collect();
    // The sandbox's own temp directory comes last, so it wins, as bubblewrap's --setenv does.
    assert_eq!(tmp, ["/elsewhere", "/attempt/tmp"]);
    // The engine kept no copy of the write end: the pipe ends when the "command" is done.
    let mut seen = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut seen)
        .await
        .unwrap();
    assert_eq!(seen, "from the command\n");
}

#[tokio::test]
async fn a_malformed_answer_is_refused() {
    let (mut resident, server) = fake();
    let (_out, out_write) = output_pipe().unwrap();
    let (_err, err_write) = output_pipe().unwrap();
    let server = serve_once(server, vec![0xff; 8]);
    let result = resident.run(&command(&[], &[]), out_write, err_write).await;
    assert!(
        matches!(
            result,
            Err(ResidentError::Malformed(WireError::UnknownTag(_)))
        ),
        "{result:?}"
    );
    server.join().unwrap();
}

#[tokio::test]
async fn a_server_that_goes_away_is_reported_not_waited_for() {
    let (mut resident, server) = fake();
    let (_out, out_write) = output_pipe().unwrap();
    let (_err, err_write) = output_pipe().unwrap();
    // Reads the request, answers half a reply, then dies.
    let server = std::thread::spawn(move || {
        let mut buffer = [0u8; 64];
        let _ = (&server).read(&mut buffer).unwrap();
        (&server).write_all(&[1, 0, 0]).unwrap();
    });
    let result = resident.run(&command(&[], &[]), out_write, err_write).await;
    assert!(
        matches!(result, Err(ResidentError::ServerGone)),
        "{result:?}"
    );
    server.join().unwrap();
    assert!(!resident.is_alive(), "a server that hung up is not idle");
}

#[tokio::test]
async fn an_idle_server_that_says_anything_is_no_longer_trusted() {
    let (mut resident, server) = fake();
    assert!(resident.is_alive());
    (&server).write_all(b"x").unwrap();
    assert!(!resident.is_alive());
}

#[tokio::test]
async fn a_program_that_cannot_start_is_said_so_and_the_resident_lives_on() {
    let (mut resident, server) = fake();
    let (_out, out_write) = output_pipe().unwrap();
    let (_err, err_write) = output_pipe().unwrap();
    let server = serve_once(server, Reply::NotStarted(libc::ENOENT).encode().to_vec());
    let ended = resident
        .run(&command(&[], &[]), out_write, err_write)
        .await
        .unwrap();
    assert!(
        matches!(&ended, Ended::NotStarted(e) if e.kind() == io::ErrorKind::NotFound),
        "{ended:?}"
    );
    let _server = server.join().unwrap();
    assert!(resident.is_alive());
}

#[tokio::test]
async fn dropping_a_resident_kills_its_sandbox() {
    let (resident, _server) = fake();
    let pid = resident.group.expect("the sleep leads a group").id();
    drop(resident);
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "gone".to_string())
    };
    // A sleep of 600 s ends long before that only if it was killed.
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while !matches!(state().as_str(), "Z" | "X" | "gone") {
        assert!(std::time::Instant::now() < deadline, "still {}", state());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
