//! Loading stages: built-ins, sha256 pins, incompatible components and the compiled cache.

use crate::common::{fixture_path, host, request};
use engine_core::PluginRef;
use engine_runtime::{Host, HostOptions, RuntimeError};
use serde_json::json;

fn sha256_of(path: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn a_component_importing_unknown_interfaces_fails_at_load() {
    let bytes = std::fs::read(fixture_path("fixture-bad-world")).unwrap();
    let err = host().load(&bytes, "bad-world").unwrap_err();
    assert!(matches!(err, RuntimeError::Incompatible { .. }), "{err}");
    assert!(
        err.to_string().contains("fixture:bad-world/missing"),
        "{err}"
    );
}

#[test]
fn bytes_that_are_not_a_component_fail_to_compile() {
    let err = host().load(b"not wasm at all", "junk").unwrap_err();
    assert!(matches!(err, RuntimeError::Compile { .. }), "{err}");
}

#[test]
fn builtins_load_and_unknown_ones_list_the_known() {
    let dir = std::path::Path::new("/");
    let gate = host()
        .load_plugin(
            &PluginRef::Builtin {
                name: "gate".into(),
            },
            dir,
        )
        .unwrap();
    assert_eq!(gate.label(), "builtin:gate");
    let err = host()
        .load_plugin(
            &PluginRef::Builtin {
                name: "nope".into(),
            },
            dir,
        )
        .unwrap_err();
    assert!(matches!(err, RuntimeError::UnknownBuiltin { .. }));
    // Every built-in is listed, sorted (the set grows as stages are added).
    assert_eq!(
        err.to_string(),
        format!(
            "unknown built-in stage `builtin:nope` (known: {})",
            engine_runtime::builtin_names().join(", ")
        )
    );
    for name in ["agent", "gate", "merge", "telegram", "webhook"] {
        assert!(engine_runtime::builtin_names().contains(&name), "{name}");
    }
}

#[test]
fn sha256_pins_are_enforced() {
    let path = fixture_path("fixture-echo");
    let (dir, file) = (
        path.parent().unwrap(),
        path.file_name().unwrap().to_str().unwrap(),
    );
    let good = sha256_of(&path);
    let loaded = host()
        .load_plugin(
            &PluginRef::Path {
                path: file.into(),
                sha256: good.to_uppercase(),
            },
            dir,
        )
        .unwrap();
    assert_eq!(loaded.sha256(), good);

    let wrong = "0".repeat(64);
    let err = host()
        .load_plugin(
            &PluginRef::Path {
                path: file.into(),
                sha256: wrong.clone(),
            },
            dir,
        )
        .unwrap_err();
    match err {
        RuntimeError::Sha256Mismatch {
            expected,
            actual,
            path: p,
        } => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, good);
            assert_eq!(p, path);
        }
        other => panic!("expected a mismatch, got {other}"),
    }

    let err = host()
        .load_plugin(
            &PluginRef::Path {
                path: "missing.wasm".into(),
                sha256: good,
            },
            dir,
        )
        .unwrap_err();
    assert!(matches!(err, RuntimeError::ReadPlugin { .. }));
}

#[tokio::test]
async fn compiled_components_are_cached_and_corrupt_entries_recompiled() {
    let bytes = std::fs::read(fixture_path("fixture-echo")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let options = || HostOptions {
        cache_dir: cache.path().to_path_buf(),
    };

    let first = Host::new(options()).unwrap();
    first.load(&bytes, "echo").unwrap();
    assert_eq!(first.cache_stats().compiled, 1);
    assert_eq!(first.cache_stats().hits, 0);
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "one entry, no temp files: {entries:?}");

    // A new process (host) with the same cache directory deserializes instead of compiling,
    // and marks the entry as in use (an entry last used three days ago is refreshed).
    let three_days = std::time::Duration::from_hours(72);
    let long_ago = std::time::SystemTime::now() - three_days;
    std::fs::File::options()
        .write(true)
        .open(&entries[0])
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let second = Host::new(options()).unwrap();
    let stage = second.load(&bytes, "echo").unwrap();
    assert_eq!(second.cache_stats().hits, 1);
    assert_eq!(second.cache_stats().compiled, 0);
    let modified = std::fs::metadata(&entries[0]).unwrap().modified().unwrap();
    assert!(
        modified > long_ago + three_days / 2,
        "the hit refreshed the entry"
    );
    let (req, _) = request(json!({}));
    assert!(second.run_attempt(&stage, req).await.is_ok());

    // Flip a byte in the middle of the entry: it is rejected and recompiled, and still runs.
    let mut data = std::fs::read(&entries[0]).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    std::fs::write(&entries[0], &data).unwrap();
    let third = Host::new(options()).unwrap();
    let stage = third.load(&bytes, "echo").unwrap();
    assert_eq!(third.cache_stats().rejected, 1);
    assert_eq!(third.cache_stats().compiled, 1);
    let (req, _) = request(json!({}));
    assert!(third.run_attempt(&stage, req).await.is_ok());

    // Truncated entries too (a torn write: the first half of a good entry).
    let good = std::fs::read(&entries[0]).unwrap();
    std::fs::write(&entries[0], &good[..good.len() / 2]).unwrap();
    let fourth = Host::new(options()).unwrap();
    fourth.load(&bytes, "echo").unwrap();
    assert_eq!(fourth.cache_stats().rejected, 1);

    // Within one host, loading the same bytes again reuses the first load.
    fourth.load(&bytes, "echo again").unwrap();
    assert_eq!(fourth.cache_stats().compiled, 1);
}

#[tokio::test]
async fn describe_of_fixtures_works_without_workspace() {
    let bytes = std::fs::read(fixture_path("fixture-write")).unwrap();
    let stage = host().load(&bytes, "write").unwrap();
    let d = host().describe(&stage).await.unwrap();
    assert_eq!(d.name, "fixture-write");
    assert_eq!(d.permissions.workspace, engine_core::WorkspaceAccess::Write);
    assert_eq!(d.config_schema, json!({}));
}
