//! The bubblewrap command line for one confined start (pure: paths in, arguments out).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::policy::{Policy, Purpose};

/// One process to start inside the sandbox.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// Agent session or exec'd program.
    pub purpose: Purpose,
    /// The resolved executable.
    pub program: &'a Path,
    /// Its arguments.
    pub args: &'a [String],
    /// Working directory (must be inside a writable or readable path).
    pub cwd: &'a Path,
    /// Writable for this start only (a read-only session's throw-away copy).
    pub extra_writable: &'a [PathBuf],
    /// Readable for this start only even inside a hidden path (a session's scratch files).
    pub extra_readable: &'a [PathBuf],
}

/// What exists on the host, decided before the arguments are built (so building them is pure).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostFacts {
    /// The `prlimit` program, which sets the limits inside the sandbox; `None` when engine sets
    /// them before starting bubblewrap (as root, whose process count a cgroup limits).
    pub(crate) prlimit: Option<PathBuf>,
    /// Hidden paths that are files (masked with `/dev/null`), the rest are directories.
    pub(crate) hidden_files: Vec<PathBuf>,
    /// The user and group ids inside the sandbox when they must differ from the real ones:
    /// root outside is `nobody` inside (uid 0 could not create the nested user namespaces
    /// that CLIs such as Codex sandbox their own commands with).
    pub(crate) inside_ids: Option<(u32, u32)>,
    /// Starts without the network join the sandbox's own empty network namespace (made once,
    /// joined before bubblewrap starts) instead of having bubblewrap make one each time.
    pub(crate) shared_netns: bool,
}

/// One mount over the read-only root.
#[derive(Debug, Clone, Copy)]
enum Mount<'a> {
    /// An empty directory over a hidden directory.
    Mask(&'a Path),
    /// An empty file over a hidden file.
    MaskFile(&'a Path),
    /// A writable bind of the first path at the second.
    Write(&'a Path, &'a Path),
    /// A read-only bind in place.
    Read(&'a Path),
}

/// Every mount, parents before what lies inside them (so a worktree inside the hidden state
/// directory is shown again, and `~/.ssh` stays hidden inside a writable home); at the same
/// depth the listed order holds: hidden, writable, overlays, readable, read-only, temp.
fn mounts<'a>(policy: &'a Policy, launch: &'a Launch<'_>, facts: &HostFacts) -> Vec<Mount<'a>> {
    let mut mounts: Vec<Mount<'a>> = Vec::new();
    for hidden in &policy.hidden {
        mounts.push(if facts.hidden_files.contains(hidden) {
            Mount::MaskFile(hidden)
        } else {
            Mount::Mask(hidden)
        });
    }
    for path in policy.writable.iter().chain(launch.extra_writable) {
        mounts.push(Mount::Write(path, path));
    }
    for overlay in &policy.overlays {
        mounts.push(Mount::Write(&overlay.private, &overlay.at));
    }
    for path in launch.extra_readable.iter().chain(&policy.read_only) {
        mounts.push(Mount::Read(path));
    }
    mounts.push(Mount::Write(&policy.tmp_dir, &policy.tmp_dir));
    let depth = |m: &Mount<'_>| {
        let at = match m {
            Mount::Mask(p) | Mount::MaskFile(p) | Mount::Read(p) | Mount::Write(_, p) => p,
        };
        at.components().count()
    };
    mounts.sort_by_key(depth);
    mounts
}

/// bubblewrap's arguments (everything after `bwrap`), ending with the program and its
/// arguments, run through `prlimit` for the per-process limits.
pub(crate) fn bwrap_args(policy: &Policy, launch: &Launch<'_>, facts: &HostFacts) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::with_capacity(64);
    let mut push = |items: &[&std::ffi::OsStr]| out.extend(items.iter().map(|s| s.to_os_string()));
    push(&[
        "--unshare-user".as_ref(),
        "--unshare-pid".as_ref(),
        "--unshare-ipc".as_ref(),
        "--die-with-parent".as_ref(),
        "--cap-drop".as_ref(),
        "ALL".as_ref(),
    ]);
    if let Some((uid, gid)) = facts.inside_ids {
        let (uid, gid) = (uid.to_string(), gid.to_string());
        push(&[
            "--uid".as_ref(),
            uid.as_ref(),
            "--gid".as_ref(),
            gid.as_ref(),
        ]);
    }
    if !policy.network.allows(launch.purpose) && !facts.shared_netns {
        push(&["--unshare-net".as_ref()]);
    }
    push(&[
        "--ro-bind".as_ref(),
        "/".as_ref(),
        "/".as_ref(),
        "--dev".as_ref(),
        "/dev".as_ref(),
        "--proc".as_ref(),
        "/proc".as_ref(),
    ]);
    for mount in mounts(policy, launch, facts) {
        match mount {
            Mount::Mask(path) => push(&["--tmpfs".as_ref(), path.as_os_str()]),
            Mount::MaskFile(path) => {
                push(&["--ro-bind".as_ref(), "/dev/null".as_ref(), path.as_os_str()]);
            }
            Mount::Write(from, at) => push(&["--bind".as_ref(), from.as_os_str(), at.as_os_str()]),
            Mount::Read(path) => push(&["--ro-bind".as_ref(), path.as_os_str(), path.as_os_str()]),
        }
    }
    // Hidden directories are empty and stay so: nothing written there could be mistaken for
    // having reached the real path.
    for hidden in &policy.hidden {
        if !facts.hidden_files.contains(hidden) {
            push(&["--remount-ro".as_ref(), hidden.as_os_str()]);
        }
    }
    let tmp = policy.tmp_dir.as_os_str();
    for name in ["TMPDIR", "TMP", "TEMP"] {
        push(&["--setenv".as_ref(), name.as_ref(), tmp]);
    }
    push(&["--chdir".as_ref(), launch.cwd.as_os_str()]);
    let limits = &policy.limits;
    out.push("--".into());
    // The process count must be limited inside the sandbox's own user namespace (set before,
    // it would count every process of the user); the others could be set either side.
    if let Some(prlimit) = &facts.prlimit {
        out.push(prlimit.clone().into_os_string());
        out.push(format!("--nproc={}", limits.processes).into());
        out.push(format!("--data={}", limits.memory_bytes).into());
        out.push(format!("--fsize={}", limits.file_size_bytes).into());
        out.push("--core=0".into());
        out.push("--".into());
    }
    out.push(launch.program.as_os_str().to_os_string());
    out.extend(launch.args.iter().map(OsString::from));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Limits, Network, Overlay};

    fn policy() -> Policy {
        Policy {
            writable: vec!["/wt".into()],
            read_only: vec!["/wt/.git".into()],
            hidden: vec![
                "/home/u/.ssh".into(),
                "/home/u/.netrc".into(),
                "/state".into(),
            ],
            overlays: vec![Overlay {
                private: "/state/p/refs".into(),
                at: "/repo/.git/refs/heads/engine".into(),
            }],
            tmp_dir: "/state/tmp/a1".into(),
            network: Network::Agent,
            limits: Limits {
                processes: 64,
                memory_bytes: 1 << 20,
                file_size_bytes: 4096,
            },
        }
    }

    fn text(args: &[OsString]) -> String {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn launch(purpose: Purpose) -> Launch<'static> {
        Launch {
            purpose,
            program: Path::new("/bin/sh"),
            args: &[],
            cwd: Path::new("/wt"),
            extra_writable: &[],
            extra_readable: &[],
        }
    }

    #[test]
    fn binds_come_in_an_order_where_narrower_rules_win() {
        let facts = HostFacts {
            prlimit: Some("/usr/bin/prlimit".into()),
            hidden_files: vec!["/home/u/.netrc".into()],
            inside_ids: Some((65534, 65534)),
            shared_netns: false,
        };
        let args = text(&bwrap_args(&policy(), &launch(Purpose::Exec), &facts));
        let at = |needle: &str| {
            args.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {args}"))
        };
        assert!(at("--ro-bind / /") < at("--tmpfs /home/u/.ssh"));
        assert!(at("--ro-bind /") < at("--ro-bind /dev/null /home/u/.netrc"));
        // The state directory is hidden, then the attempt's own temp directory is shown in it.
        assert!(at("--tmpfs /state") < at("--bind /state/tmp/a1 /state/tmp/a1"));
        assert!(args.contains("--bind /state/p/refs /repo/.git/refs/heads/engine"));
        assert!(at("--bind /wt /wt") < at("--ro-bind /wt/.git /wt/.git"));
        assert!(args.ends_with(
            "-- /usr/bin/prlimit --nproc=64 --data=1048576 --fsize=4096 --core=0 -- /bin/sh"
        ));
        assert!(args.contains("--cap-drop ALL"));
        assert!(args.contains("--uid 65534 --gid 65534"));
        let facts = HostFacts::default();
        let args = text(&bwrap_args(&policy(), &launch(Purpose::Exec), &facts));
        assert!(args.ends_with("--chdir /wt -- /bin/sh"), "{args}");
        assert!(at("--bind /state/tmp/a1 /state/tmp/a1") < at("--remount-ro /state"));
        assert!(args.contains("--setenv TMPDIR /state/tmp/a1"));
    }

    #[test]
    fn a_hidden_path_inside_a_writable_one_stays_hidden() {
        let mut policy = policy();
        policy.writable.push("/home/u".into());
        let args = text(&bwrap_args(
            &policy,
            &launch(Purpose::Agent),
            &HostFacts::default(),
        ));
        let at = |needle: &str| {
            args.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {args}"))
        };
        assert!(at("--bind /home/u /home/u") < at("--tmpfs /home/u/.ssh"));
    }

    #[test]
    fn network_follows_the_purpose() {
        let facts = HostFacts::default();
        let mut policy = policy();
        let exec = text(&bwrap_args(&policy, &launch(Purpose::Exec), &facts));
        let agent = text(&bwrap_args(&policy, &launch(Purpose::Agent), &facts));
        assert!(exec.contains("--unshare-net"));
        assert!(!agent.contains("--unshare-net"));
        policy.network = Network::None;
        let agent = text(&bwrap_args(&policy, &launch(Purpose::Agent), &facts));
        assert!(agent.contains("--unshare-net"));
        policy.network = Network::All;
        let exec = text(&bwrap_args(&policy, &launch(Purpose::Exec), &facts));
        assert!(!exec.contains("--unshare-net"));
        // A namespace made beforehand is joined instead.
        policy.network = Network::None;
        let shared = HostFacts {
            shared_netns: true,
            ..HostFacts::default()
        };
        let exec = text(&bwrap_args(&policy, &launch(Purpose::Exec), &shared));
        assert!(!exec.contains("--unshare-net"));
    }
}
