//! The on-disk cache of compiled components.
//!
//! An entry is keyed by the sha256 of the component's bytes, the engine's
//! `precompile_compatibility_hash()` (wasmtime version, target, settings) and this file's format
//! version, so a new engine never loads an old artifact. An entry is wasmtime's serialized
//! artifact followed by a trailer (its length, its CRC-32 and a magic number), written atomically
//! (temp file, fsync, rename). Loading checks the trailer and the CRC-32 of the payload, then lets
//! wasmtime map the file (no copy: the code pages are shared with every other engine process that
//! maps the same entry): a truncated or corrupt entry is recompiled and rewritten, never executed.
//!
//! The checksum detects torn or damaged files; it is not a signature (whoever can write the cache
//! directory could write a matching one of any kind). The directory is the host's: sandboxed
//! processes see the host's files read-only (docs/security.md).
//!
//! Compiling a large component (a Python or JavaScript one) takes tens of seconds the first
//! time; a [`CompileObserver`] hears about every compile that runs longer than its threshold,
//! so the user sees why nothing happens.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Ends a cache file of this format (the last bytes of its trailer).
const MAGIC: &[u8; 8] = b"ENGCWAS2";

/// The format version, part of every entry's key: files of another format are never opened.
const FORMAT: &[u8] = b"engine component cache v2";

/// The trailer after the payload: its length (u64 LE), its CRC-32 (u32 LE), [`MAGIC`].
const TRAILER_LEN: usize = 8 + 4 + MAGIC.len();

/// Counters of the cache since the host started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components loaded from a valid cache entry.
    pub hits: u64,
    /// Components compiled (no entry, or a rejected one).
    pub compiled: u64,
    /// Entries found corrupt or incompatible and replaced.
    pub rejected: u64,
    /// Entries that could not be written (the component still loads).
    pub write_failures: u64,
}

/// A component being compiled because the cache has no (valid) entry for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileEvent {
    /// The plugin's label (`builtin:gate` or its path).
    pub label: String,
    /// Size of the component, in bytes.
    pub size_bytes: u64,
    /// The compiled-component cache the result goes to.
    pub cache_dir: PathBuf,
}

/// Hears about compiles of components that are not in the cache and take longer than
/// [`CompileObserver::threshold`]: [`CompileObserver::compiling`] once the threshold has
/// passed (the compile still running), [`CompileObserver::compiled`] when it is done. Compiles
/// that finish sooner, and components found in the cache, are not reported.
pub trait CompileObserver: Send + Sync {
    /// How long a compile runs before it is reported (default: one second). Zero reports every
    /// compile, before it starts.
    fn threshold(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// A compile is running (called from another thread than the one compiling).
    fn compiling(&self, event: &CompileEvent);

    /// The compile reported by [`CompileObserver::compiling`] finished after `elapsed` (whether
    /// or not it succeeded).
    fn compiled(&self, event: &CompileEvent, elapsed: Duration);
}

/// Runs `compile`, telling `observer` about it when it takes longer than the observer's
/// threshold: a watcher thread waits that long for the compile to end, and reports it as
/// running when it has not.
pub(crate) fn reported<R>(
    observer: Option<&dyn CompileObserver>,
    event: &CompileEvent,
    compile: impl FnOnce() -> R,
) -> R {
    let Some(observer) = observer else {
        return compile();
    };
    let started = Instant::now();
    let threshold = observer.threshold();
    if threshold.is_zero() {
        observer.compiling(event);
        let result = compile();
        observer.compiled(event, started.elapsed());
        return result;
    }
    let (done, finished) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let watcher = std::thread::Builder::new()
            .name("engine-compile-watch".to_string())
            .spawn_scoped(scope, move || {
                match finished.recv_timeout(threshold) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        observer.compiling(event);
                        true
                    }
                    // Finished in time (or the compiling side went away).
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => false,
                }
            });
        let result = compile();
        let _ = done.send(());
        // No watcher (the thread could not start) or a panicked one: nothing was announced.
        let announced = watcher.is_ok_and(|watcher| watcher.join().unwrap_or(false));
        if announced {
            observer.compiled(event, started.elapsed());
        }
        result
    })
}

/// Compiled components under one directory.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_hash: [u8; 32],
    hits: AtomicU64,
    compiled: AtomicU64,
    rejected: AtomicU64,
    write_failures: AtomicU64,
    /// Whether this cache swept its directory already (once per process is enough).
    swept: std::sync::atomic::AtomicBool,
}

impl ComponentCache {
    /// A cache in `dir` (which must exist) for components compiled by `engine`.
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache {
            dir,
            engine_hash: hasher.0.finalize().into(),
            hits: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            write_failures: AtomicU64::new(0),
            swept: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The cache directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The counters.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            compiled: self.compiled.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
        }
    }

    /// The cache file of a component with this content hash.
    pub(crate) fn entry_path(&self, content_sha256: &[u8; 32]) -> PathBuf {
        let mut key = Sha256::new();
        key.update(content_sha256);
        key.update(self.engine_hash);
        key.update(FORMAT);
        self.dir
            .join(format!("{}.cwasm", hex::encode(key.finalize())))
    }

    /// The compiled component: from a valid cache entry, or compiled now (and cached), the
    /// compile reported to `observer` when it runs longer than its threshold.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_sha256: &[u8; 32],
        label: &str,
        observer: Option<&dyn CompileObserver>,
    ) -> wasmtime::Result<Component> {
        let path = self.entry_path(content_sha256);
        if let Some(component) = self.load_entry(engine, &path) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        let event = CompileEvent {
            label: label.to_string(),
            size_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            cache_dir: self.dir.clone(),
        };
        let serialized = reported(observer, &event, || engine.precompile_component(bytes))?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = write_entry(&path, &serialized) {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(path = %path.display(), error = %e, "cannot write the component cache");
        }
        if !self.swept.swap(true, Ordering::Relaxed) {
            let swept = crate::cache_sweep::sweep(&self.dir, std::time::SystemTime::now());
            if swept > 0 {
                tracing::debug!(swept, dir = %self.dir.display(), "removed stale component cache files");
            }
        }
        // SAFETY: `serialized` was produced by `precompile_component` of this very engine just
        // now; it is trusted compiled code.
        unsafe { Component::deserialize(engine, &serialized) }
    }

    /// A valid entry, or `None` when there is none or it is rejected (then it is removed).
    fn load_entry(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let mut file = std::fs::File::open(path).ok()?;
        match verify_entry(&mut file) {
            Ok(true) => {}
            Ok(false) => {
                self.reject(path, "checksum mismatch or truncated entry");
                return None;
            }
            Err(e) => {
                self.reject(path, &format!("cannot read the entry: {e}"));
                return None;
            }
        }
        // wasmtime maps the very file that was checked: through the open descriptor where /proc
        // has it (an entry renamed over or removed meanwhile by another engine process does not
        // matter then), else by its path.
        let checked =
            Path::new("/proc/self/fd").join(std::os::fd::AsRawFd::as_raw_fd(&file).to_string());
        let mapped = if checked.exists() {
            checked.as_path()
        } else {
            path
        };
        // SAFETY: the file was written by `load_or_compile` of an engine with the same
        // compatibility hash into this host-owned directory, and its payload's checksum matches
        // what was written with it, so it is the artifact we compiled; wasmtime checks its header
        // too. Entries are never modified in place (only replaced by rename, or removed), so the
        // mapping wasmtime makes cannot change under it. The trailer after the ELF image is
        // outside every section wasmtime reads.
        let component = unsafe { Component::deserialize_file(engine, mapped) };
        match component {
            Ok(component) => {
                crate::cache_sweep::refresh(&file, std::time::SystemTime::now());
                Some(component)
            }
            Err(e) => {
                self.reject(path, &e.to_string());
                None
            }
        }
    }

    fn reject(&self, path: &Path, why: &str) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(path = %path.display(), why, "discarding a bad component cache entry");
        let _ = std::fs::remove_file(path);
    }
}

/// Whether `file` is a whole entry: its trailer names the payload's length and CRC-32, and the
/// payload read back matches both. Reads the payload in chunks (no copy of the whole entry).
fn verify_entry(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    let Some(payload_len) = len.checked_sub(TRAILER_LEN as u64) else {
        return Ok(false);
    };
    let mut trailer = [0u8; TRAILER_LEN];
    file.seek(SeekFrom::Start(payload_len))?;
    file.read_exact(&mut trailer)?;
    let Some((recorded, expected_crc)) = parse_trailer(&trailer) else {
        return Ok(false);
    };
    if recorded != payload_len {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(0))?;
    let mut crc = crc32fast::Hasher::new();
    let mut chunk = vec![0u8; 256 * 1024];
    let mut left = payload_len;
    while left > 0 {
        let want = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        let read = match file.read(&mut chunk[..want]) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if read == 0 {
            return Ok(false);
        }
        crc.update(&chunk[..read]);
        left -= read as u64;
    }
    Ok(crc.finalize() == expected_crc)
}

/// The payload length and CRC-32 a trailer records, if it ends with [`MAGIC`].
fn parse_trailer(trailer: &[u8; TRAILER_LEN]) -> Option<(u64, u32)> {
    let (len, rest) = trailer.split_first_chunk::<8>()?;
    let (crc, magic) = rest.split_first_chunk::<4>()?;
    (magic == MAGIC.as_slice()).then(|| (u64::from_le_bytes(*len), u32::from_le_bytes(*crc)))
}

/// The trailer of `payload`.
fn trailer(payload: &[u8]) -> [u8; TRAILER_LEN] {
    let mut trailer = [0u8; TRAILER_LEN];
    trailer[..8].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    trailer[8..12].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    trailer[12..].copy_from_slice(MAGIC);
    trailer
}

/// Writes `payload + trailer` to a temp file in the same directory, syncs it, then renames it
/// over `path`.
fn write_entry(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = path.with_extension(format!("tmp.{}.{unique}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(payload)?;
        file.write_all(&trailer(payload))?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Feeds `Hash` input into sha256, giving a hash that is stable across processes (unlike
/// `DefaultHasher`, whose algorithm is unspecified).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records what it is told; `compiling` also lets a waiting compile go on.
    struct Recorder {
        threshold: Duration,
        heard: Mutex<Vec<String>>,
        announced: Mutex<Option<mpsc::Sender<()>>>,
    }

    impl Recorder {
        fn new(threshold: Duration) -> Recorder {
            Recorder {
                threshold,
                heard: Mutex::new(Vec::new()),
                announced: Mutex::new(None),
            }
        }

        fn heard(&self) -> Vec<String> {
            self.heard.lock().unwrap().clone()
        }
    }

    impl CompileObserver for Recorder {
        fn threshold(&self) -> Duration {
            self.threshold
        }

        fn compiling(&self, event: &CompileEvent) {
            self.heard
                .lock()
                .unwrap()
                .push(format!("compiling {} {}", event.label, event.size_bytes));
            if let Some(tx) = self.announced.lock().unwrap().take() {
                tx.send(()).unwrap();
            }
        }

        fn compiled(&self, event: &CompileEvent, _elapsed: Duration) {
            self.heard
                .lock()
                .unwrap()
                .push(format!("compiled {}", event.label));
        }
    }

    fn event() -> CompileEvent {
        CompileEvent {
            label: "x.wasm".into(),
            size_bytes: 42,
            cache_dir: PathBuf::from("/cache"),
        }
    }

    #[test]
    fn a_zero_threshold_reports_every_compile() {
        let recorder = Recorder::new(Duration::ZERO);
        assert_eq!(reported(Some(&recorder), &event(), || 7), 7);
        assert_eq!(recorder.heard(), ["compiling x.wasm 42", "compiled x.wasm"]);
    }

    #[test]
    fn a_compile_quicker_than_the_threshold_is_not_reported() {
        let recorder = Recorder::new(Duration::from_hours(1));
        assert_eq!(reported(Some(&recorder), &event(), || 7), 7);
        assert!(recorder.heard().is_empty(), "{:?}", recorder.heard());
        assert_eq!(reported(None, &event(), || 8), 8);
    }

    #[test]
    fn a_compile_longer_than_the_threshold_is_reported_while_it_runs() {
        let recorder = Recorder::new(Duration::from_millis(1));
        let (tx, rx) = mpsc::channel();
        *recorder.announced.lock().unwrap() = Some(tx);
        // The "compile" cannot end before the observer heard it is running.
        let result = reported(Some(&recorder), &event(), || rx.recv().is_ok());
        assert!(result);
        assert_eq!(recorder.heard(), ["compiling x.wasm 42", "compiled x.wasm"]);
    }

    fn verify(path: &Path) -> bool {
        verify_entry(&mut std::fs::File::open(path).unwrap()).unwrap()
    }

    #[test]
    fn an_entry_is_its_payload_and_a_trailer_and_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        // Larger than one read chunk, so the chunked checksum is exercised.
        let payload: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        write_entry(&path, &payload).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(&data[..payload.len()], payload.as_slice());
        assert!(data.ends_with(MAGIC));
        assert!(verify(&path));
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file is left behind");

        // A flipped byte anywhere in the payload.
        for at in [0, 300_000, payload.len() - 1] {
            let mut bad = data.clone();
            bad[at] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            assert!(!verify(&path), "flip at {at}");
        }
        // Truncated (the trailer gone, or cut through), extended, empty, the old format.
        for bad in [
            &data[..payload.len()],
            &data[..data.len() - 1],
            &data[..10],
            b"".as_slice(),
            b"ENGCWAS1".as_slice(),
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(!verify(&path), "{} bytes", bad.len());
        }
        let mut extended = data.clone();
        extended.splice(payload.len()..payload.len(), [0u8]);
        std::fs::write(&path, &extended).unwrap();
        assert!(!verify(&path), "a byte inserted before the trailer");
    }
}
