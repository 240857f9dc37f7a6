//! What confinement adds to a process start: `true` started plainly (`posix_spawn`), as engine
//! started programs before confinement (its own process group and a parent-death signal set in
//! a pre-exec hook, which makes it a fork), and through the sandbox with a worktree-like policy
//! (with and without the network).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use criterion::{Criterion, criterion_main};
use engine_confine::{Launch, Network, Policy, Purpose, Sandbox};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let worktree = dir.path().join("worktree");
    std::fs::create_dir_all(&worktree).expect("worktree");
    let true_path = std::path::Path::new("/bin/true");
    let mut group = c.benchmark_group("start");
    group.bench_function("plain", |b| {
        b.iter(|| {
            runtime.block_on(async {
                tokio::process::Command::new(true_path)
                    .status()
                    .await
                    .expect("true runs")
            })
        });
    });
    group.bench_function("plain_engine_style", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut command = tokio::process::Command::new(true_path);
                engine_confine::lead_new_group(&mut command);
                command.status().await.expect("true runs")
            })
        });
    });
    for (name, network) in [
        ("confined_no_network", Network::None),
        ("confined_network", Network::All),
    ] {
        let sandbox = Sandbox::new(Policy {
            writable: vec![worktree.clone()],
            hidden: vec![dir.path().join("state")],
            tmp_dir: dir.path().join("tmp"),
            network,
            ..Policy::default()
        })
        .expect("this machine can confine");
        group.bench_function(name, |b| {
            b.iter(|| start_true(&runtime, &sandbox, &worktree));
        });
    }
    group.finish();

    // Starts 50 ms apart, as a run's are (a stage's, then the next one's after git work): back
    // to back, the kernel's cgroup bookkeeping stays warm and hides what joining a cgroup costs
    // a start that comes alone (as root, cgroup v1: 5-15 ms through `cgroup.procs`).
    let sandbox = Sandbox::new(Policy {
        writable: vec![worktree.clone()],
        tmp_dir: dir.path().join("tmp"),
        network: Network::None,
        ..Policy::default()
    })
    .expect("this machine can confine");
    let mut spaced = c.benchmark_group("start_spaced_50ms");
    spaced.sample_size(10);
    spaced.bench_function("confined_no_network", |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                std::thread::sleep(std::time::Duration::from_millis(50));
                let began = std::time::Instant::now();
                start_true(&runtime, &sandbox, &worktree);
                total += began.elapsed();
            }
            total
        });
    });
    spaced.finish();
}

/// Starts `/bin/true` in `sandbox` (working directory `worktree`) and waits for it.
fn start_true(runtime: &tokio::runtime::Runtime, sandbox: &Sandbox, worktree: &std::path::Path) {
    let launch = Launch {
        purpose: Purpose::Exec,
        program: std::path::Path::new("/bin/true"),
        args: &[],
        cwd: worktree,
        extra_writable: &[],
        extra_readable: &[],
    };
    let (mut command, guard) = sandbox.command(&launch, None).expect("command");
    let status = runtime.block_on(async { command.status().await.expect("runs") });
    drop(guard);
    assert!(status.success());
}

/// The group `criterion_main!` runs, in a private module because the function
/// `criterion_group!` generates cannot carry a doc comment.
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
