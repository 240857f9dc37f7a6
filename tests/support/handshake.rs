//! Ordering a test against a stage's program without sleeping: the program announces itself
//! with a file and waits for the test's go; the test waits for the announcement (a signal, a
//! kill, a second command lands while the program runs) and gives the go when it wants the
//! program to finish.

use std::path::{Path, PathBuf};

/// A directory of handshake files, granted to the stages that use it
/// (`sandbox: { write: [dir] }`, see [`Handshake::grant`]).
pub struct Handshake {
    dir: tempfile::TempDir,
}

impl Handshake {
    /// A fresh handshake directory (no go given).
    pub fn new() -> Handshake {
        Handshake {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}")),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A stage's `sandbox:` line letting its programs write the directory.
    pub fn grant(&self) -> String {
        format!("sandbox: {{ write: [{}] }}", self.dir().display())
    }

    /// Shell that announces `name` (touches `<name>.started`), then waits for the go.
    pub fn announce_and_wait(&self, name: &str) -> String {
        let dir = self.dir().display();
        format!("touch {dir}/{name}.started && while [ ! -e {dir}/go ]; do sleep 0.02; done")
    }

    /// A stage `name` (YAML at the indentation of `stages:` entries) whose one command
    /// announces `name` and waits for the go.
    pub fn waiting_gate(&self, name: &str) -> String {
        format!(
            "  {name}:\n    uses: builtin:gate\n    with: {{ commands: [\"sh -c '{wait}'\"] }}\n    \
             permissions: {{ workspace: read, exec: [sh] }}\n    {grant}\n",
            wait = self.announce_and_wait(name),
            grant = self.grant(),
        )
    }

    /// The file the program touches to announce `name` (wait for it with
    /// [`super::Spawned::wait_for_file`]).
    pub fn started_file(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{name}.started"))
    }

    /// Forgets that `name` was announced, to wait for its next announcement.
    #[track_caller]
    pub fn forget(&self, name: &str) {
        let path = self.dir().join(format!("{name}.started"));
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Gives the go: every waiting program (and every later one) goes on.
    #[track_caller]
    pub fn release(&self) {
        let go = self.dir().join("go");
        std::fs::write(&go, "").unwrap_or_else(|e| panic!("{}: {e}", go.display()));
    }
}

impl Default for Handshake {
    fn default() -> Self {
        Handshake::new()
    }
}
