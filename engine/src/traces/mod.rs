//! OpenTelemetry traces of runs, exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: a span per run, a child span per stage
//! attempt, and a grandchild per agent session of an attempt. Every process that drives runs
//! exports them (`engine run`, `resume`, `retry`, `run --all`, `watch`, `serve`): the hook is
//! in [`crate::driver::drive_to_end`], which they all go through.
//!
//! Built for durability: ids are derived from the stored state ([`ids`]: the trace id is the
//! run id, span ids hash the run, stage and attempt) and times are the stored ones, so a run
//! resumed by another process after kill -9 goes on in the same trace and nothing depends on
//! a span object outliving a process. A span is exported once what it covers has ended: an
//! attempt's when the attempt ended (stored), the run's when the run ended (with its recorded
//! start). Exporting happens on a background thread ([`export`]); a collector that is down
//! never slows or fails a run; the process waits at most [`export::FLUSH_TIMEOUT`] at exit
//! ([`flush`]).

pub mod export;
pub mod ids;
mod observer;
pub mod sessions;
pub mod spans;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use engine_core::RunState;
use engine_store::RunMeta;

pub use export::flush;

use crate::report::Reporter;

/// `reporter`, also exporting the spans of the run `meta`/`state` describe as its attempts and
/// the run end; `reporter` itself when traces are off. `state` is the run as stored when this
/// process takes it up: attempts that ended before were exported by the process that saw them
/// end, and are not exported again.
pub fn observe(
    reporter: Arc<dyn Reporter>,
    meta: &RunMeta,
    state: &RunState,
    state_dir: &Path,
) -> Arc<dyn Reporter> {
    let Some(exporter) = export::exporter() else {
        return reporter;
    };
    let sent: HashSet<(String, u32)> = observer::ended(state)
        .map(|(stage, record)| (stage.clone(), record.attempt))
        .collect();
    Arc::new(crate::report::Listening {
        inner: reporter,
        listener: observer::Traced {
            exporter,
            facts: Arc::new(spans::RunFacts::of(meta, state)),
            created_at_ms: meta.created_at_ms,
            state_dir: Arc::new(state_dir.to_path_buf()),
            sent: Mutex::new(sent),
        },
    })
}
