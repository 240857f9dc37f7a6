//! How a confined start joins its cgroup: the file it writes into, and (as root, where engine
//! makes cgroups) that the started process really is in the start's cgroup of every controller.

use std::path::PathBuf;

use super::*;
use crate::{Launch, Policy, Purpose, Sandbox};

#[test]
fn a_v1_child_joins_through_tasks_and_a_v2_child_through_cgroup_procs() {
    let v1 = Hierarchy::V1 {
        pids: PathBuf::from("/sys/fs/cgroup/pids/engine-sandboxes"),
        memory: None,
    };
    let v2 = Hierarchy::V2 {
        dir: PathBuf::from("/sys/fs/cgroup/engine-sandboxes"),
    };
    assert_eq!(join_file(&v1), "tasks");
    assert_eq!(join_file(&v2), "cgroup.procs");
}

#[tokio::test]
async fn a_confined_start_runs_in_its_own_cgroup_of_every_controller() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || crate::available().is_err() {
        eprintln!("skipped: engine makes cgroups only as root, with bubblewrap");
        return;
    }
    let Some(hierarchy) = hierarchy() else {
        panic!("root without a cgroup hierarchy: Sandbox::new refuses to confine");
    };
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(Policy {
        tmp_dir: dir.path().join("tmp"),
        ..Policy::default()
    })
    .unwrap();
    let launch = Launch {
        purpose: Purpose::Exec,
        program: std::path::Path::new("/bin/cat"),
        args: &["/proc/self/cgroup".to_string()],
        cwd: dir.path(),
        extra_writable: &[],
        extra_readable: &[],
    };
    let (mut command, guard) = sandbox.command(&launch, None).unwrap();
    let output = command.output().await.unwrap();
    drop(guard);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let prefix = format!("/engine-sandboxes/engine-{}-", std::process::id());
    let in_start = |controller: &str| {
        text.lines().any(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
            let named = match controller {
                "" => controllers == Some(""),
                c => controllers.is_some_and(|cs| cs.split(',').any(|x| x == c)),
            };
            named && path.is_some_and(|p| p.contains(&prefix))
        })
    };
    match hierarchy {
        Hierarchy::V1 { memory, .. } => {
            assert!(in_start("pids"), "not in the start's pids cgroup:\n{text}");
            if memory.is_some() {
                assert!(
                    in_start("memory"),
                    "not in the start's memory cgroup:\n{text}"
                );
            }
        }
        Hierarchy::V2 { .. } => assert!(in_start(""), "not in the start's cgroup:\n{text}"),
    }
}

#[tokio::test]
async fn dropping_the_guard_kills_the_start_at_once_and_its_cgroup_goes() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || crate::available().is_err() {
        eprintln!("skipped: engine makes cgroups only as root, with bubblewrap");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(Policy {
        tmp_dir: dir.path().join("tmp"),
        ..Policy::default()
    })
    .unwrap();
    let args = ["-c".to_string(), "sleep 600 & sleep 600".to_string()];
    let launch = Launch {
        purpose: Purpose::Exec,
        program: std::path::Path::new("/bin/sh"),
        args: &args,
        cwd: dir.path(),
        extra_writable: &[],
        extra_readable: &[],
    };
    let (mut command, guard) = sandbox.command(&launch, None).unwrap();
    let mut child = command.spawn().unwrap();
    let dirs = guard.cgroup.as_ref().unwrap().dirs.clone();
    // Wait until the whole start is in its cgroup (bubblewrap, the shell, both sleeps).
    for _ in 0..2000 {
        if members(&dirs).len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(members(&dirs).len() >= 4, "{:?}", members(&dirs));
    drop(guard);
    // Every member was sent SIGKILL before the drop returned: bubblewrap ends by it.
    let status = child.wait().await.unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "{status:?}"
    );
    // The directories go once the kernel has finished the exits.
    for _ in 0..2000 {
        if dirs.iter().all(|d| !d.exists()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("the start's cgroup is still there: {dirs:?}");
}
