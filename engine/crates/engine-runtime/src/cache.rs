//! The on-disk cache of compiled components.
//!
//! An entry is keyed by the sha256 of the component's bytes and the engine's
//! `precompile_compatibility_hash()` (wasmtime version, target, settings), so a new engine never
//! loads an old artifact. Entries are written atomically (temp file + rename) and carry the
//! sha256 of their payload, checked before wasmtime deserializes it: a truncated or corrupt entry
//! is recompiled and rewritten, never executed.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Marks a cache file of this format.
const MAGIC: &[u8; 8] = b"ENGCWAS1";

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

/// Compiled components under one directory.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_hash: [u8; 32],
    hits: AtomicU64,
    compiled: AtomicU64,
    rejected: AtomicU64,
    write_failures: AtomicU64,
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
        }
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
        self.dir
            .join(format!("{}.cwasm", hex::encode(key.finalize())))
    }

    /// The compiled component: from a valid cache entry, or compiled now (and cached).
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_sha256: &[u8; 32],
    ) -> wasmtime::Result<Component> {
        let path = self.entry_path(content_sha256);
        if let Some(component) = self.load_entry(engine, &path) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        let serialized = engine.precompile_component(bytes)?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = write_entry(&path, &serialized) {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(path = %path.display(), error = %e, "cannot write the component cache");
        }
        // SAFETY: `serialized` was produced by `precompile_component` of this very engine just
        // now; it is trusted compiled code.
        unsafe { Component::deserialize(engine, &serialized) }
    }

    /// A valid entry, or `None` when there is none or it is rejected (then it is removed).
    fn load_entry(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = std::fs::read(path).ok()?;
        let Some(payload) = verified_payload(&data) else {
            self.reject(path, "checksum mismatch or truncated entry");
            return None;
        };
        // SAFETY: the payload was written by `load_or_compile` of an engine with the same
        // compatibility hash into this host-owned directory, and its sha256 matches what was
        // written with it, so it is the artifact we compiled; wasmtime checks its header too.
        match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => Some(component),
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

/// The payload of a cache file whose magic and checksum are right.
fn verified_payload(data: &[u8]) -> Option<&[u8]> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (checksum, payload) = rest.split_at(32);
    (Sha256::digest(payload).as_slice() == checksum).then_some(payload)
}

/// Writes `MAGIC + sha256(payload) + payload` to a temp file in the same directory, then renames
/// it over `path`.
fn write_entry(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = path.with_extension(format!("tmp.{}.{unique}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(MAGIC)?;
        file.write_all(&Sha256::digest(payload))?;
        file.write_all(payload)?;
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

    #[test]
    fn payload_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        write_entry(&path, b"payload").unwrap();
        let mut data = std::fs::read(&path).unwrap();
        assert_eq!(verified_payload(&data), Some(b"payload".as_slice()));
        let last = data.len() - 1;
        data[last] ^= 1;
        assert_eq!(verified_payload(&data), None);
        assert_eq!(verified_payload(b"ENGCWAS1short"), None);
        assert_eq!(verified_payload(b""), None);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file is left behind");
    }
}
