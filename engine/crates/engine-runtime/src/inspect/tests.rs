//! What [`inspect`] says about every kind of file, and the plain-words errors the host gives
//! when loading them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::{CompileEvent, CompileObserver, Host, HostOptions, RuntimeError};

fn fixture(package: &str) -> Vec<u8> {
    std::fs::read(engine_testkit::fixture_plugin(package).unwrap()).unwrap()
}

fn builtin(name: &str) -> &'static [u8] {
    crate::builtin(name).unwrap()
}

/// A host with its own empty cache (kept alive with it).
fn host() -> (Host, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(HostOptions {
        cache_dir: cache.path().to_path_buf(),
    })
    .unwrap();
    (host, cache)
}

fn not_wasm(bytes: &[u8]) -> String {
    match inspect(bytes).kind {
        FileKind::NotWasm(what) => what.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn files_that_are_not_webassembly_are_named_for_what_they_are() {
    assert_eq!(not_wasm(b""), "empty (0 bytes)");
    assert_eq!(
        not_wasm(b"name: demo\nstages: {}\n"),
        "text (it begins `name: demo`)"
    );
    assert_eq!(not_wasm(b"   \n"), "blank text");
    assert_eq!(not_wasm(b"#!/bin/sh\necho hi\n"), "a script (`#!/bin/sh`)");
    assert_eq!(
        not_wasm(&std::fs::read("/bin/true").unwrap()),
        "an ELF file (a native Linux program or library)"
    );
    assert_eq!(not_wasm(b"\x1f\x8b\x08\0rest"), "gzip-compressed data");
    assert_eq!(not_wasm(b"PK\x03\x04rest"), "a zip archive");
    assert_eq!(
        not_wasm(&[0xff, 0x00, 0x01, 0x02, 0x03]),
        "binary data that is not WebAssembly (it begins ff 00 01 02 03)"
    );
    assert!(not_wasm(b"(component\n  (import \"x\" (instance)))").starts_with("WebAssembly text"));
    assert_eq!(
        not_wasm(b"\0as"),
        "cut off: it has 3 bytes of the 8-byte WebAssembly header and nothing after"
    );
    assert_eq!(
        not_wasm(b"\0asm\x0d\0"),
        "cut off: it has 6 bytes of the 8-byte WebAssembly header and nothing after"
    );
    assert!(not_wasm(b"\0asm\x0a\0\x01\0rest").starts_with(
        "WebAssembly of an unknown version (header bytes 0a 00 01 00 after the magic number"
    ));
    let long = "x".repeat(100);
    assert_eq!(
        not_wasm(long.as_bytes()),
        format!("text (it begins `{}...`)", "x".repeat(60))
    );
}

#[test]
fn core_modules_and_damaged_components_are_told_apart() {
    assert_eq!(inspect(b"\0asm\x01\0\0\0").kind, FileKind::CoreModule);
    let refusal = inspect(b"\0asm\x01\0\0\0").refusal(Role::Stage).unwrap();
    assert!(refusal.not_a_component);
    assert_eq!(
        refusal.message,
        "is a core WebAssembly module, not a component: build it as a component, e.g. with \
         cargo --target wasm32-wasip2 / componentize-py / jco componentize (`engine plugin \
         build` does this)"
    );
    let gate = builtin("gate");
    let truncated = &gate[..gate.len() / 2];
    let inspection = inspect(truncated);
    assert!(
        matches!(&inspection.kind, FileKind::Damaged { reason } if reason.contains("at byte")),
        "{inspection:?}"
    );
    let message = inspection.refusal(Role::Stage).unwrap().message;
    assert!(
        message.starts_with("starts like a WebAssembly component but cannot be read: "),
        "{message}"
    );
}

#[test]
fn stages_sources_and_programs_are_recognised_by_their_exports() {
    let gate = inspect(builtin("gate"));
    assert_eq!(gate.kind, FileKind::Stage);
    assert_eq!(
        gate.wit_version(),
        Some(WitVersion::parse(HOST_WIT_VERSION))
    );
    assert_eq!(gate.refusal(Role::Stage), None);

    let tasks_md = inspect(builtin("tasks-md"));
    assert_eq!(tasks_md.kind, FileKind::Source);
    assert_eq!(tasks_md.refusal(Role::Source), None);
    assert_eq!(
        tasks_md.refusal(Role::Stage).unwrap().message,
        "is a task source (it exports describe, list-tasks, claim and update), not a stage: \
         name it in the workflow's `tasks: source:`, not in a stage's `uses:`"
    );
    assert_eq!(
        gate.refusal(Role::Source).unwrap().message,
        "is a stage (it exports describe and run), not a task source: name it in a stage's \
         `uses:`, not in the workflow's `tasks: source:`"
    );

    let command = inspect(&fixture("fixture-command"));
    assert_eq!(command.kind, FileKind::Command);
    assert!(
        command
            .refusal(Role::Stage)
            .unwrap()
            .message
            .starts_with("is a WASI program (command: it exports wasi:cli/run), not an engine plugin: a stage exports `describe` and `run`")
    );

    let other = inspect(&fixture("fixture-bad-world"));
    assert_eq!(other.kind, FileKind::OtherComponent);
    assert_eq!(other.exports, ["describe"]);
}

#[test]
fn a_component_built_against_another_wit_version_is_refused_before_compiling() {
    let v2 = inspect(&fixture("fixture-wit-v2"));
    assert_eq!(v2.kind, FileKind::Stage);
    assert_eq!(v2.wit_version(), Some(WitVersion::parse("0.2.0")));
    let refusal = v2.refusal(Role::Stage).unwrap();
    assert!(!refusal.not_a_component);
    assert_eq!(
        refusal.message,
        "is a stage built against engine:stage@0.2.0; this engine provides engine:stage@0.1.0: \
         rebuild it against 0.1 (`engine plugin new` and `engine plugin build` use this \
         engine's WIT and SDK), or upgrade engine to one that provides engine:stage@0.2"
    );
}

#[test]
fn link_failures_name_what_is_missing_else_keep_wasmtimes_words() {
    let inspection = Inspection {
        kind: FileKind::Stage,
        imports: vec![Import {
            name: "engine:stage/log@0.1.3".into(),
            kind: ImportKind::Instance,
        }],
        exports: vec!["describe".into(), "run".into()],
    };
    assert_eq!(
        inspection.link_failure(&[], "function implementation is missing"),
        "is a stage built against engine:stage@0.1.3, newer than this engine's \
         engine:stage@0.1.0, and uses something 0.1.0 does not have: upgrade engine, or \
         rebuild it against 0.1.0 (`engine plugin build` uses this engine's WIT); wasmtime \
         says: function implementation is missing"
    );
    let same = Inspection {
        imports: vec![Import {
            name: "engine:stage/types@0.1.0".into(),
            kind: ImportKind::Instance,
        }],
        ..inspection.clone()
    };
    assert!(
        same.link_failure(&[], "expected record of 6 fields, found 5 fields")
            .starts_with(
                "is a stage built against engine:stage@0.1.0, but its imports or exports do \
                 not match this engine's engine:stage@0.1.0: it was built from a WIT that \
                 differs from this engine's under the same version; rebuild it"
            )
    );
    assert_eq!(
        same.link_failure(&["wasi:nn/graph@0.2.0".into()], "ignored"),
        format!(
            "is a stage built against engine:stage@0.1.0 that imports interfaces this engine \
             does not provide: wasi:nn/graph@0.2.0; this engine provides {}",
            host_provides()
        )
    );
}

#[test]
fn the_probe_agrees_with_the_linker_and_the_version_rule() {
    let (host, _cache) = host();
    let import = |name: &str| Import {
        name: name.to_string(),
        kind: ImportKind::Instance,
    };
    let mut provided: Vec<Import> = ["types", "log", "exec", "agent", "source-types"]
        .iter()
        .map(|i| import(&format!("engine:stage/{i}@{HOST_WIT_VERSION}")))
        .collect();
    // One interface of each WASI package the messages say this host provides.
    for interface in [
        "wasi:cli/environment",
        "wasi:clocks/monotonic-clock",
        "wasi:filesystem/types",
        "wasi:io/streams",
        "wasi:random/random",
        "wasi:sockets/tcp",
        "wasi:http/types",
    ] {
        assert!(
            diagnose::WASI_PACKAGES
                .iter()
                .any(|p| interface.starts_with(p))
        );
        provided.push(import(&format!("{interface}@0.2.0")));
    }
    // A later patch of the same track is looked up by the same rule as WitVersion::loads_on.
    provided.push(import("engine:stage/log@0.1.9"));
    // A world's `use types.{descriptor}` imports a type the component defines itself.
    provided.push(Import {
        name: "descriptor".into(),
        kind: ImportKind::Type,
    });
    assert_eq!(
        host.unprovided(&with_imports(provided)),
        Vec::<String>::new()
    );

    let missing = vec![
        import("engine:stage/log@0.2.0"),
        import("wasi:cli/environment@0.3.0"),
        import("fixture:bad-world/missing"),
        Import {
            name: "frobnicate".into(),
            kind: ImportKind::Other,
        },
    ];
    assert_eq!(
        host.unprovided(&with_imports(missing)),
        [
            "engine:stage/log@0.2.0",
            "wasi:cli/environment@0.3.0",
            "fixture:bad-world/missing",
            "frobnicate"
        ]
    );
}

fn with_imports(imports: Vec<Import>) -> Inspection {
    Inspection {
        kind: FileKind::OtherComponent,
        imports,
        exports: Vec::new(),
    }
}

#[test]
fn loading_says_what_is_wrong_in_plain_words() {
    let (host, _cache) = host();
    let load = |bytes: &[u8]| host.load(bytes, "x.wasm").unwrap_err();

    let err = load(b"hello\n");
    assert!(matches!(err, RuntimeError::Compile { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "`x.wasm` is not a WebAssembly file: it is text (it begins `hello`)"
    );
    let err = load(&fixture("fixture-wit-v2"));
    assert!(matches!(err, RuntimeError::Incompatible { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("`x.wasm` is a stage built against engine:stage@0.2.0; this engine provides engine:stage@0.1.0: rebuild it against 0.1"),
        "{err}"
    );
    assert_eq!(host.cache_stats().compiled, 0, "refused before compiling");

    let err = load(&fixture("fixture-bad-world"));
    assert!(
        err.to_string().ends_with(
            "; it exports `describe`; it also imports interfaces this engine does not provide: \
             fixture:bad-world/missing"
        ),
        "{err}"
    );
    let err = host
        .load_source_bytes(builtin("gate"), "builtin:gate")
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::IncompatibleSource { .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(
            "`builtin:gate` is a stage (it exports describe and run), not a task source"
        )
    );
}

/// Records the compiles it hears about.
#[derive(Default)]
struct Compiles(Mutex<Vec<String>>);

impl CompileObserver for Compiles {
    fn threshold(&self) -> Duration {
        Duration::ZERO
    }

    fn compiling(&self, event: &CompileEvent) {
        self.0.lock().unwrap().push(format!(
            "compiling {} ({} bytes) into {}",
            event.label,
            event.size_bytes,
            event.cache_dir.display()
        ));
    }

    fn compiled(&self, event: &CompileEvent, _elapsed: Duration) {
        self.0
            .lock()
            .unwrap()
            .push(format!("compiled {}", event.label));
    }
}

#[test]
fn compiles_are_reported_and_cache_hits_are_not() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = fixture("fixture-echo");
    let load_once = || {
        let compiles = Arc::new(Compiles::default());
        let host = Host::new(HostOptions {
            cache_dir: cache.path().to_path_buf(),
        })
        .unwrap()
        .with_compile_observer(compiles.clone());
        host.load(&bytes, "echo.wasm").unwrap();
        compiles.0.lock().unwrap().clone()
    };
    assert_eq!(
        load_once(),
        [
            format!(
                "compiling echo.wasm ({} bytes) into {}",
                bytes.len(),
                cache.path().display()
            ),
            "compiled echo.wasm".to_string()
        ]
    );
    assert!(
        load_once().is_empty(),
        "a cached component is not compiled again"
    );
}

#[tokio::test]
async fn a_describe_that_traps_shows_the_stderr_tail() {
    let (host, _cache) = host();
    let stage = host
        .load(&fixture("fixture-describe-trap"), "trap.wasm")
        .unwrap();
    let err = host.describe(&stage).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Python function threw an unexpected exception"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "the component's stderr ended with:\n  Traceback (most recent call last):\n  \
             \x20 File \"app.py\", line 12, in describe\n      raise ValueError(\"config schema \
             file schema.json is missing\")\n  ValueError: config schema file schema.json is \
             missing"
        ),
        "{text}"
    );
}

#[test]
fn the_stderr_tail_leaves_out_rusts_panic_report() {
    let stderr = "before\nthread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\nnote: run with \
                  `RUST_BACKTRACE=1`\nafter\n";
    assert_eq!(
        crate::host::with_stderr_tail("trapped".into(), stderr),
        "trapped\nthe component's stderr ended with:\n  before\n  after"
    );
    assert_eq!(
        crate::host::with_stderr_tail("trapped".into(), "thread 'x' panicked at a.rs:1:1:\nboom\n"),
        "trapped"
    );
}
