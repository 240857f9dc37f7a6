//! The host's side of a stage's work in the run's worktree.
//!
//! After a stage that may write the worktree succeeds, its changes are committed on the run's
//! branch with a message from the workflow's template; commits the stage made by itself (an
//! agent that commits) are kept as they are. The commits are recorded with the attempt.
//!
//! A stage granted only `workspace: read` may still leave files behind through the programs it
//! runs (a gate's build or test command): those are not part of the change. The worktree is
//! snapshotted (a tree written through a private index) before the first read-only stage and
//! put back before the next write-granted stage starts, and read-only and write-granted stages
//! of a run never overlap in the worktree, so a commit holds only what write-granted stages
//! changed.
//!
//! After every stage the worktree's `.git` file is checked against the admin directory the
//! repository knows for it, and restored (with a warning naming the stage) if the stage changed
//! it. Host git never follows that file anyway: `engine-git` pins every command it runs in a
//! run worktree to `GIT_DIR=<common dir>/worktrees/<id>` and `GIT_WORK_TREE=<worktree>`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use engine_core::Task;
use engine_git::{Identity, Repo};
use engine_workflow::GitSettings;

/// Who commits when neither the workflow nor git's configuration says.
const FALLBACK_NAME: &str = "engine";
/// The fallback identity's email.
const FALLBACK_EMAIL: &str = "engine@localhost";

/// What a commit needs to know about the attempt.
#[derive(Debug, Clone)]
pub struct CommitSite {
    /// The repository.
    pub repo: Repo,
    /// The run's worktree.
    pub worktree: PathBuf,
    /// The workflow's `git:` settings.
    pub settings: GitSettings,
    /// The run.
    pub run_id: String,
    /// The task.
    pub task: Task,
    /// The stage.
    pub stage: String,
    /// The attempt.
    pub attempt: u32,
    /// Whether the stage may write the worktree (`permissions.workspace: write`): its changes
    /// are committed. Otherwise what it leaves behind is removed before the next write-granted
    /// stage starts.
    pub write: bool,
}

impl CommitSite {
    /// Waits until this stage may use the worktree (read-only and write-granted stages take
    /// turns; stages of the same kind share it), then prepares it: the first read-only stage
    /// since the last write-granted one snapshots the worktree; a write-granted stage first puts
    /// the worktree back to that snapshot, removing what read-only stages left. Read-only stages
    /// in a row see each other's leftovers (a test report of the stage before).
    ///
    /// The snapshot's tree id is kept in the worktree's admin directory (outside the worktree),
    /// so it survives a crash and `engine resume`.
    pub async fn enter(&self) -> Result<WorktreeTurn, String> {
        let room = room(&self.worktree);
        loop {
            let notified = room.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut occupants = room.lock();
                if self.write && occupants.readers == 0 {
                    occupants.writers += 1;
                    break;
                }
                if !self.write && occupants.writers == 0 {
                    occupants.readers += 1;
                    break;
                }
            }
            notified.await;
        }
        let turn = WorktreeTurn {
            room: room.clone(),
            write: self.write,
        };
        let _preparing = room.preparing.lock().await;
        let (repo, worktree, write) = (self.repo.clone(), self.worktree.clone(), self.write);
        tokio::task::spawn_blocking(move || prepare(&repo, &worktree, write))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)?;
        Ok(turn)
    }

    /// Checks the worktree's `.git` file after the stage ran and restores it if the stage
    /// changed it; `Ok(Some(warning))` then.
    pub fn check_link(&self) -> Result<Option<String>, String> {
        match self.repo.check_worktree_link(&self.worktree) {
            Ok(None) => Ok(None),
            Ok(Some(found)) => Ok(Some(format!(
                "stage {:?} changed the worktree's .git file (found {found}); engine restored \
                 it (engine's own git never follows that file)",
                self.stage
            ))),
            Err(e) => Err(format!(
                "checking the worktree's .git file after stage {:?} failed: {e}",
                self.stage
            )),
        }
    }

    /// The branch's commit now (before the attempt runs).
    pub fn head(&self) -> Option<String> {
        self.repo.head_of(&self.worktree).ok()
    }

    /// Commits what the attempt left uncommitted and returns every commit it added since
    /// `before`, oldest first.
    pub fn commit(&self, before: Option<&str>, summary: &str) -> Result<Vec<String>, String> {
        let message = self.message(summary)?;
        // Asking git whether it knows who commits costs two process starts: only when a role
        // is not configured in the workflow.
        let configured = self.settings.author.is_some() && self.settings.committer.is_some();
        let fallback = (!configured && !self.repo.has_identity(&self.worktree)).then(|| Identity {
            name: FALLBACK_NAME.into(),
            email: FALLBACK_EMAIL.into(),
        });
        let identity = |configured: &Option<(String, String)>| {
            configured
                .as_ref()
                .map(|(name, email)| Identity {
                    name: name.clone(),
                    email: email.clone(),
                })
                .or_else(|| fallback.clone())
        };
        // The stage's own commits, if any, are between `before` and the head now.
        let head_now = before.and_then(|_| self.repo.head_of(&self.worktree).ok());
        let made = self
            .repo
            .commit_all(
                &self.worktree,
                &message,
                identity(&self.settings.author).as_ref(),
                identity(&self.settings.committer).as_ref(),
            )
            .map_err(|e| format!("committing the stage's changes failed: {e}"))?;
        self.record_clean_head();
        let Some(before) = before else {
            return Ok(Vec::new());
        };
        if head_now.as_deref() == Some(before) {
            // The stage committed nothing itself: engine's commit is the only new one.
            return Ok(made.into_iter().collect());
        }
        let after = self
            .repo
            .head_of(&self.worktree)
            .map_err(|e| e.to_string())?;
        self.repo
            .commits_between(&self.worktree, before, &after)
            .map_err(|e| e.to_string())
    }

    /// After engine's commit, the worktree's files are its new head's (`add -A` staged
    /// everything not ignored), unless a hook changed some, or another write-granted stage is
    /// still at work in the worktree. Then the head is recorded as the worktree's clean state,
    /// so the next read-only stage starts from it instead of taking a snapshot (two git
    /// processes). A write-granted stage's entry removes the record. Best effort: without the
    /// record, the snapshot is taken as before.
    fn record_clean_head(&self) {
        let room = room(&self.worktree);
        // Held by a write-granted stage while it removes the record on entry (`prepare`).
        let _preparing = room.preparing.blocking_lock();
        if room.lock().writers != 1 || self.repo.commit_may_run_hooks(&self.worktree) {
            return;
        }
        let (Ok(head), Ok(admin)) = (
            self.repo.head_of(&self.worktree),
            self.repo.worktree_git_dir(&self.worktree),
        ) else {
            return;
        };
        let file = admin.join(CLEAN_HEAD_FILE);
        let partial = file.with_extension("partial");
        if let Err(e) = std::fs::write(&partial, format!("{head}\n"))
            .and_then(|()| std::fs::rename(&partial, &file))
        {
            tracing::debug!(
                "cannot record the worktree's clean head in {}: {e}",
                file.display()
            );
        }
    }

    /// The commit message from the workflow's template, rendered with the same fuel and
    /// nesting limits as stages' `with:` (task text is a value here, never a template).
    fn message(&self, summary: &str) -> Result<String, String> {
        let limits = engine_workflow::RenderLimits::default();
        let mut env = minijinja::Environment::new();
        env.set_fuel(Some(limits.fuel));
        env.set_recursion_limit(engine_workflow::MAX_TEMPLATE_NESTING);
        env.remove_global("namespace");
        let context = minijinja::context! {
            task => minijinja::context! {
                id => self.task.id.clone(),
                title => self.task.title.clone(),
                body => self.task.body.clone(),
                labels => self.task.labels.clone(),
            },
            run => minijinja::context! { id => self.run_id.clone() },
            stage => self.stage.clone(),
            attempt => self.attempt,
            summary => summary,
        };
        let text = env
            .render_str(&self.settings.commit_message, context)
            .map_err(|e| format!("git.commit.message template: {e}"))?;
        if text.len() > MAX_COMMIT_MESSAGE_BYTES {
            return Err(format!(
                "git.commit.message template: the message is {} bytes, more than the {} a \
                 commit message may have",
                text.len(),
                MAX_COMMIT_MESSAGE_BYTES
            ));
        }
        let text = text.trim();
        Ok(if text.is_empty() {
            format!("{} ({})", self.task.title, self.stage)
        } else {
            text.to_string()
        })
    }
}

/// The longest commit message engine writes.
const MAX_COMMIT_MESSAGE_BYTES: usize = 1 << 20;

/// The file in a worktree's admin directory holding the snapshot read-only stages started
/// from.
const BASELINE_FILE: &str = "engine-readonly-baseline";

/// The file in a worktree's admin directory naming the commit whose files the worktree holds
/// exactly, written after engine's commit of a write-granted stage
/// ([`CommitSite::record_clean_head`]) and removed when a write-granted stage enters.
const CLEAN_HEAD_FILE: &str = "engine-clean-head";

/// Snapshots the worktree before the first read-only stage (`write` false), or puts it back to
/// that snapshot before a write-granted stage. The snapshot is a tree, or the worktree's head
/// commit when the worktree is known to hold exactly its files (`CLEAN_HEAD_FILE`).
fn prepare(repo: &Repo, worktree: &std::path::Path, write: bool) -> Result<(), String> {
    let admin = repo.worktree_git_dir(worktree).map_err(|e| e.to_string())?;
    let clean_head = admin.join(CLEAN_HEAD_FILE);
    let file = admin.join(BASELINE_FILE);
    let recorded = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("reading {}: {e}", file.display())),
    };
    if write {
        match std::fs::remove_file(&clean_head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("removing {}: {e}", clean_head.display())),
        }
        let Some(tree) = recorded else {
            return Ok(());
        };
        let restored = repo.restore_snapshot(worktree, &tree).map_err(|e| {
            format!("removing what read-only stages left in the worktree failed: {e}")
        })?;
        if !restored.is_empty() {
            tracing::info!(
                worktree = %worktree.display(),
                "removed what read-only stages left in the worktree: {}",
                restored.join(", ")
            );
        }
        std::fs::remove_file(&file).map_err(|e| format!("removing {}: {e}", file.display()))
    } else {
        if recorded.is_some() {
            return Ok(());
        }
        let head = repo.head_of(worktree).ok();
        let clean = std::fs::read_to_string(&clean_head)
            .ok()
            .map(|text| text.trim().to_string())
            .filter(|recorded| head.as_deref() == Some(recorded.as_str()));
        let tree = match clean {
            Some(commit) => commit,
            None => repo.snapshot_tree(worktree).map_err(|e| {
                format!("snapshotting the worktree before a read-only stage failed: {e}")
            })?,
        };
        let partial = file.with_extension("partial");
        std::fs::write(&partial, format!("{tree}\n"))
            .and_then(|()| std::fs::rename(&partial, &file))
            .map_err(|e| format!("writing {}: {e}", file.display()))
    }
}

/// A stage's turn in the run's worktree, from [`CommitSite::enter`], given back when dropped.
pub struct WorktreeTurn {
    room: Arc<Room>,
    write: bool,
}

impl Drop for WorktreeTurn {
    fn drop(&mut self) {
        {
            let mut occupants = self.room.lock();
            if self.write {
                occupants.writers -= 1;
            } else {
                occupants.readers -= 1;
            }
        }
        self.room.changed.notify_waiters();
    }
}

/// Who is using one worktree.
#[derive(Default)]
struct Room {
    occupants: Mutex<Occupants>,
    changed: tokio::sync::Notify,
    /// Held while a stage snapshots or restores the worktree, before it starts.
    preparing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Occupants {
    readers: usize,
    writers: usize,
}

impl Room {
    fn lock(&self) -> std::sync::MutexGuard<'_, Occupants> {
        self.occupants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The room of `worktree`, shared by every attempt this process runs in it while any uses it.
fn room(worktree: &std::path::Path) -> Arc<Room> {
    static ROOMS: LazyLock<Mutex<HashMap<PathBuf, Weak<Room>>>> = LazyLock::new(Mutex::default);
    let mut rooms = ROOMS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    rooms.retain(|_, room| room.strong_count() > 0);
    if let Some(room) = rooms.get(worktree).and_then(Weak::upgrade) {
        return room;
    }
    let room = Arc::new(Room::default());
    rooms.insert(worktree.to_path_buf(), Arc::downgrade(&room));
    room
}
