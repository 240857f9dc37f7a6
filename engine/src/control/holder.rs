//! The serving side of the control socket: [`Holder`] accepts commands from other terminals,
//! carries each out with the [`Executor`] the CLI gives it, streams its output back, and keeps
//! the process alive until the last submitted command ended ([`Holder::finish`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use super::protocol::{self, Envelope, Reply, Request};
use super::{Finish, Holding, socket};
use crate::output::Output;

/// Carries out a command for a client: the CLI's own command code, printing to the client's
/// streams. The receiver turns `true` when the client stops listening (it closed its side: a
/// session's terminal pressed Ctrl-C, or went away).
pub type Executor = Arc<
    dyn Fn(
            Request,
            Arc<dyn Output>,
            Holding,
            watch::Receiver<bool>,
        ) -> Pin<Box<dyn Future<Output = Finish> + Send>>
        + Send
        + Sync,
>;

/// How long a client has to send its request once connected.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// How long the output of an ended command waits for a client that stopped reading.
const FLUSH_WAIT: Duration = Duration::from_secs(30);

/// A command being carried out for a client.
struct Served {
    /// It drives a run or a session (not a quick request such as `engine approve`).
    drives: bool,
    /// The run it drives, once known.
    run: Option<String>,
}

/// The commands being carried out for clients, by connection.
#[derive(Default)]
struct Book {
    next: u64,
    serving: BTreeMap<u64, Served>,
    /// Set once the holder takes no new command (it is about to exit).
    closing: bool,
}

struct Shared {
    holding: Holding,
    executor: Executor,
    book: Mutex<Book>,
    changed: Notify,
}

impl Shared {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // The book is a plain map: a panic elsewhere cannot leave it half-updated.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Books a new command (`drives`: a run or session, not a quick request); `None` once
    /// the holder takes no new command. A holder told to stop (SIGINT, SIGTERM) takes no new
    /// run or session: it would only hand it straight back, and a terminal taking its run over
    /// would come back to it again and again until it exits; told "closing", the terminal
    /// waits and holds the state directory itself once this process is gone.
    fn register(&self, drives: bool) -> Option<u64> {
        if drives && *self.holding.stopping.borrow() {
            return None;
        }
        let mut book = self.book();
        if book.closing {
            return None;
        }
        book.next += 1;
        let id = book.next;
        book.serving.insert(id, Served { drives, run: None });
        Some(id)
    }

    fn note_run(&self, id: u64, run_id: &str) {
        if let Some(served) = self.book().serving.get_mut(&id) {
            served.run = Some(run_id.to_string());
        }
    }
}

/// The output of a command carried out in-process: also notes its run in the book.
struct Booked {
    inner: Arc<dyn Output>,
    shared: Arc<Shared>,
    id: u64,
}

impl Output for Booked {
    fn out(&self, line: &str) {
        self.inner.out(line);
    }

    fn err(&self, line: &str) {
        self.inner.err(line);
    }

    fn err_colour(&self) -> bool {
        self.inner.err_colour()
    }

    fn run_id(&self, run_id: &str) {
        self.shared.note_run(self.id, run_id);
        self.inner.run_id(run_id);
    }
}

/// A process holding the state directory, serving its control socket.
pub struct Holder {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    signals: Option<JoinHandle<()>>,
    bound: Option<std::fs::Metadata>,
}

impl Holder {
    /// Serves the control socket of `holding`'s state directory, carrying commands out with
    /// `executor`; `stop` is the sender of `holding.stopping`, flipped when this process gets
    /// SIGINT or SIGTERM. A socket that cannot be served is said on `output` (other commands
    /// then wait for this process, as before) and the holder goes on without it.
    pub fn start(
        holding: Holding,
        stop: watch::Sender<bool>,
        executor: Executor,
        output: &dyn Output,
    ) -> Holder {
        let shared = Arc::new(Shared {
            holding,
            executor,
            book: Mutex::new(Book::default()),
            changed: Notify::new(),
        });
        let signals = tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
            let _ = stop.send(true);
        });
        let state_dir = shared.holding.state_dir.path().to_path_buf();
        let (accept, bound) = match socket::bind(&state_dir) {
            Ok(listener) => {
                let bound = std::fs::symlink_metadata(socket::socket_path(&state_dir)).ok();
                (
                    Some(tokio::spawn(accept_loop(listener, shared.clone()))),
                    bound,
                )
            }
            Err(e) => {
                output.err(&crate::terminal::safe(&format!(
                    "warning: {e}; other engine commands wait for this process instead"
                )));
                (None, None)
            }
        };
        Holder {
            shared,
            accept,
            signals: Some(signals),
            bound,
        }
    }

    /// Waits until no submitted command is being carried out, then stops taking new ones
    /// (clients that come now are told to try again: they reach the next holder, or hold the
    /// state directory themselves once this process exits). Says on `output` what it waits
    /// for.
    pub async fn finish(mut self, output: &dyn Output) {
        self.drain(output).await;
        self.stop_serving();
    }

    /// Waits as [`Holder::finish`] does and stops taking new commands; the socket is removed
    /// when the holder is dropped.
    pub async fn drain(&self, output: &dyn Output) {
        let mut said = false;
        loop {
            let changed = self.shared.changed.notified();
            {
                let mut book = self.shared.book();
                if book.serving.is_empty() {
                    book.closing = true;
                    break;
                }
                let driving: Vec<&Served> = book.serving.values().filter(|c| c.drives).collect();
                if !said && !driving.is_empty() {
                    said = true;
                    let n = driving.len();
                    let runs: Vec<&str> = driving.iter().filter_map(|c| c.run.as_deref()).collect();
                    output.err(&format!(
                        "note: {n} command{} submitted from other terminals still run{} here{}; \
                         this process exits when they end (Ctrl-C stops their runs, and each \
                         terminal takes its run over)",
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "s" } else { "" },
                        if runs.is_empty() {
                            String::new()
                        } else {
                            format!(" (run {})", runs.join(", "))
                        }
                    ));
                }
            }
            changed.await;
        }
    }

    /// Carries `request` out in this process as if a client had submitted it (the dashboard's
    /// and MCP's controls): counted like a submitted command ([`Holder::finish`] waits for it),
    /// printing on `output`. `None` once the holder takes no new command.
    pub fn submit(&self, request: Request, output: Arc<dyn Output>) -> Option<JoinHandle<Finish>> {
        let drives = !matches!(request, Request::Control(_));
        let id = self.shared.register(drives)?;
        let shared = self.shared.clone();
        let output: Arc<dyn Output> = Arc::new(Booked {
            inner: output,
            shared: shared.clone(),
            id,
        });
        Some(tokio::spawn(async move {
            // Nobody detaches from an in-process command.
            let (_kept, departure) = watch::channel(false);
            let finish =
                (shared.executor)(request, output, shared.holding.clone(), departure).await;
            shared.book().serving.remove(&id);
            shared.changed.notify_waiters();
            finish
        }))
    }

    /// What this holder drives runs with.
    pub fn holding(&self) -> &Holding {
        &self.shared.holding
    }

    fn stop_serving(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        if let Some(signals) = self.signals.take() {
            signals.abort();
        }
        if let Some(bound) = self.bound.take() {
            socket::remove(self.shared.holding.state_dir.path(), &bound);
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.stop_serving();
    }
}

async fn accept_loop(listener: UnixListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors and the like: try again shortly rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if !socket::same_user(&stream) {
            tracing::warn!("a process of another user reached the control socket; refused");
            continue;
        }
        tokio::spawn(serve(stream, shared.clone()));
    }
}

/// One client: its request, then the command's output until its end.
async fn serve(stream: UnixStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let envelope: Envelope = match tokio::time::timeout(
        REQUEST_WAIT,
        protocol::read_frame(&mut reader, protocol::MAX_REQUEST_BYTES),
    )
    .await
    {
        Ok(Ok(Some(envelope))) => envelope,
        Ok(Err(e)) => {
            let why = format!("the request could not be read: {e}");
            let _ = protocol::write_frame(&mut write, &Reply::Refused { why }).await;
            return;
        }
        Ok(Ok(None)) | Err(_) => return,
    };
    if envelope.version != protocol::VERSION {
        let why = format!(
            "the engine process holding the state directory speaks control protocol {}, this \
             one {}: they are different builds of engine",
            protocol::VERSION,
            envelope.version
        );
        let _ = protocol::write_frame(&mut write, &Reply::Refused { why }).await;
        return;
    }
    if matches!(envelope.request, Request::Driving) {
        let runs = crate::queue::driving::all();
        let _ = protocol::write_frame(&mut write, &Reply::Driving { runs }).await;
        return;
    }
    let registered = shared.register(!matches!(envelope.request, Request::Control(_)));
    let Some(id) = registered else {
        let _ = protocol::write_frame(&mut write, &Reply::Closing).await;
        return;
    };
    let (sender, mut frames) = mpsc::unbounded_channel();
    let _ = sender.send(Reply::Accepted {
        pid: std::process::id(),
    });
    // The client may go away (Ctrl-C detaches it): the command goes on, its output is dropped.
    let writer = tokio::spawn(async move {
        let mut connected = true;
        while let Some(frame) = frames.recv().await {
            if connected && protocol::write_frame(&mut write, &frame).await.is_err() {
                connected = false;
            }
        }
    });
    let output: Arc<dyn Output> = Arc::new(ClientStreams {
        sender: sender.clone(),
        colour: envelope.colour,
        shared: shared.clone(),
        id,
    });
    // The client says nothing more after its request: the end of its side means it stopped
    // listening.
    let (departed, departure) = watch::channel(false);
    let listening = tokio::spawn(async move {
        use tokio::io::AsyncReadExt as _;
        let mut scratch = [0_u8; 256];
        while matches!(reader.read(&mut scratch).await, Ok(n) if n > 0) {}
        let _ = departed.send(true);
    });
    let finish =
        (shared.executor)(envelope.request, output, shared.holding.clone(), departure).await;
    listening.abort();
    let last = match finish {
        Finish::Exit(code) => Reply::Exit { code },
        Finish::HandBack(run_id) => Reply::HandBack { run_id },
        Finish::Failed {
            report,
            code,
            document,
        } => Reply::Failed {
            report,
            code,
            document,
        },
    };
    let _ = sender.send(last);
    drop(sender);
    // A client that stopped reading (a suspended terminal) gets a while to catch up; it does
    // not keep this process from exiting for ever.
    let abort = writer.abort_handle();
    if tokio::time::timeout(FLUSH_WAIT, writer).await.is_err() {
        abort.abort();
    }
    shared.book().serving.remove(&id);
    shared.changed.notify_waiters();
}

/// A client's stdout and stderr, as frames on its connection.
struct ClientStreams {
    sender: mpsc::UnboundedSender<Reply>,
    colour: bool,
    shared: Arc<Shared>,
    id: u64,
}

impl Output for ClientStreams {
    fn out(&self, line: &str) {
        let _ = self.sender.send(Reply::Out { line: line.into() });
    }

    fn err(&self, line: &str) {
        let _ = self.sender.send(Reply::Err { line: line.into() });
    }

    fn err_colour(&self) -> bool {
        self.colour
    }

    fn run_id(&self, run_id: &str) {
        self.shared.note_run(self.id, run_id);
        let _ = self.sender.send(Reply::Run {
            run_id: run_id.into(),
        });
    }
}

#[cfg(test)]
#[path = "holder_tests.rs"]
mod tests;
