//! Compile feedback: a first compile of a Python or JavaScript component takes 20-90 s, so every
//! command that loads plugins says so on stderr when a compile runs longer than a second:
//!
//! ```text
//! compiling dist/changelog-check.wasm (38.2 MB; first use, cached afterwards in ~/.cache/engine/components)...
//! compiled dist/changelog-check.wasm in 24.1 s
//! ```
//!
//! `ENGINE_COMPILE_PROGRESS_AFTER_MS` sets the threshold (`0`: every compile; `off`: never).

use std::sync::Arc;
use std::time::Duration;

use engine_runtime::{CompileEvent, CompileObserver, Host};

/// The variable that sets the threshold in milliseconds (`off` turns the lines off).
pub const THRESHOLD_VAR: &str = "ENGINE_COMPILE_PROGRESS_AFTER_MS";

/// The threshold without the variable.
const DEFAULT_THRESHOLD: Duration = Duration::from_secs(1);

/// Prints compile progress lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileProgress {
    /// Compiles shorter than this are not reported.
    pub threshold: Duration,
}

/// `host`, printing compile progress as [`THRESHOLD_VAR`] says (default: after one second;
/// `off`: never; an unreadable value keeps the default). Every command that loads plugins
/// makes its host with this.
pub fn with_compile_progress(host: Host) -> Host {
    match threshold_from(std::env::var(THRESHOLD_VAR).ok().as_deref()) {
        Some(threshold) => host.with_compile_observer(Arc::new(CompileProgress { threshold })),
        None => host,
    }
}

/// The threshold a value of [`THRESHOLD_VAR`] sets; `None` for `off`.
fn threshold_from(value: Option<&str>) -> Option<Duration> {
    match value.map(str::trim) {
        Some("off" | "never") => None,
        Some(ms) => Some(
            ms.parse::<u64>()
                .map_or(DEFAULT_THRESHOLD, Duration::from_millis),
        ),
        None => Some(DEFAULT_THRESHOLD),
    }
}

impl CompileProgress {
    /// `compiling LABEL (38.2 MB; first use, cached afterwards in DIR)...`
    pub fn compiling_line(event: &CompileEvent) -> String {
        format!(
            "compiling {} ({}; first use, cached afterwards in {})...",
            event.label,
            megabytes(event.size_bytes),
            event.cache_dir.display()
        )
    }

    /// `compiled LABEL in 24.1 s`
    pub fn compiled_line(event: &CompileEvent, elapsed: Duration) -> String {
        format!("compiled {} in {:.1} s", event.label, elapsed.as_secs_f64())
    }
}

impl CompileObserver for CompileProgress {
    fn threshold(&self) -> Duration {
        self.threshold
    }

    fn compiling(&self, event: &CompileEvent) {
        crate::plugin::toolchain::progress(&Self::compiling_line(event));
    }

    fn compiled(&self, event: &CompileEvent, elapsed: Duration) {
        crate::plugin::toolchain::progress(&Self::compiled_line(event, elapsed));
    }
}

/// `38.2 MB` (or `512 KB` below a megabyte).
fn megabytes(bytes: u64) -> String {
    if bytes < 1_000_000 {
        format!("{} KB", bytes.div_ceil(1000))
    } else {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_threshold_comes_from_the_variable() {
        assert_eq!(threshold_from(None), Some(Duration::from_secs(1)));
        assert_eq!(threshold_from(Some("0")), Some(Duration::ZERO));
        assert_eq!(
            threshold_from(Some("250")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(threshold_from(Some("soon")), Some(Duration::from_secs(1)));
        assert_eq!(threshold_from(Some("off")), None);
    }

    #[test]
    fn lines_say_what_size_where_and_how_long() {
        let event = CompileEvent {
            label: "dist/x.wasm".into(),
            size_bytes: 38_212_345,
            cache_dir: PathBuf::from("/home/me/.cache/engine/components"),
        };
        assert_eq!(
            CompileProgress::compiling_line(&event),
            "compiling dist/x.wasm (38.2 MB; first use, cached afterwards in \
             /home/me/.cache/engine/components)..."
        );
        assert_eq!(
            CompileProgress::compiled_line(&event, Duration::from_millis(24_130)),
            "compiled dist/x.wasm in 24.1 s"
        );
        assert_eq!(megabytes(512_001), "513 KB");
    }
}
