//! Trace and span ids derived from what the store already holds, so any process that drives a
//! run (the one that began it, or the one that resumes it after a kill -9) names its spans the
//! same way: no span object has to outlive a process.
//!
//! - the trace id is the run id's 128 bits (a run id is a ULID), or, for an id that is not one,
//!   the first 16 bytes of its SHA-256;
//! - a span id is the first 8 bytes of the SHA-256 of what the span is: the run, a stage
//!   attempt `(run, stage, attempt)` or an agent session `(run, stage, attempt, session)`.
//!   Attempt numbers only go up, so every attempt of a run has its own span.

use opentelemetry::trace::{SpanId, TraceId};
use sha2::{Digest, Sha256};

/// The trace of run `run_id`.
pub fn trace_id(run_id: &str) -> TraceId {
    if let Ok(ulid) = ulid::Ulid::from_string(run_id)
        && ulid.0 != 0
    {
        return TraceId::from(ulid.0);
    }
    let digest = Sha256::digest(format!("engine-trace\0{run_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    nonzero_trace(bytes)
}

/// The span of run `run_id` itself (the root of its trace).
pub fn run_span_id(run_id: &str) -> SpanId {
    span_id(&["run", run_id])
}

/// The span of attempt `attempt` of stage `stage` of run `run_id`.
pub fn attempt_span_id(run_id: &str, stage: &str, attempt: u32) -> SpanId {
    span_id(&["attempt", run_id, stage, &attempt.to_string()])
}

/// The span of agent session `session` of that attempt.
pub fn session_span_id(run_id: &str, stage: &str, attempt: u32, session: u32) -> SpanId {
    span_id(&[
        "session",
        run_id,
        stage,
        &attempt.to_string(),
        &session.to_string(),
    ])
}

/// The first 8 bytes of the SHA-256 of `parts` joined by NUL (which no part holds: stage ids
/// and run ids are names), never the invalid all-zero id.
fn span_id(parts: &[&str]) -> SpanId {
    let mut hasher = Sha256::new();
    hasher.update(b"engine-span");
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    if bytes == [0; 8] {
        bytes[7] = 1;
    }
    SpanId::from_bytes(bytes)
}

fn nonzero_trace(mut bytes: [u8; 16]) -> TraceId {
    if bytes == [0; 16] {
        bytes[15] = 1;
    }
    TraceId::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_is_the_ulid_of_the_run() {
        let run = "01JQ3Z6V7W8X9Y0ABCDEFGHJKM";
        let ulid = ulid::Ulid::from_string(run).unwrap();
        assert_eq!(trace_id(run), TraceId::from(ulid.0));
        assert_eq!(trace_id(run).to_string(), format!("{:032x}", ulid.0));
        // Crockford base32 is case-insensitive: the same run, the same trace.
        assert_eq!(trace_id(&run.to_lowercase()), trace_id(run));
    }

    #[test]
    fn a_run_id_that_is_no_ulid_still_gets_a_stable_valid_trace() {
        let a = trace_id("not-a-ulid");
        assert_eq!(a, trace_id("not-a-ulid"));
        assert_ne!(a, TraceId::INVALID);
        assert_ne!(a, trace_id("not-a-ulid-either"));
        // The zero ULID would be the invalid trace id: hashed instead.
        assert_ne!(trace_id("00000000000000000000000000"), TraceId::INVALID);
    }

    #[test]
    fn span_ids_are_stable_and_distinct() {
        let run = "01JQ3Z6V7W8X9Y0ABCDEFGHJKM";
        // Fixed forever: a resumed run built by a later engine must land on the same ids.
        assert_eq!(run_span_id(run), run_span_id(run));
        assert_eq!(
            attempt_span_id(run, "review", 2),
            attempt_span_id(run, "review", 2)
        );
        let ids = [
            run_span_id(run),
            attempt_span_id(run, "review", 1),
            attempt_span_id(run, "review", 2),
            attempt_span_id(run, "test", 1),
            attempt_span_id("01JQ3Z6V7W8X9Y0ABCDEFGHJKN", "review", 1),
            session_span_id(run, "review", 1, 1),
            session_span_id(run, "review", 1, 2),
        ];
        for (i, a) in ids.iter().enumerate() {
            assert_ne!(*a, SpanId::INVALID);
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Parts are separated: ("a.1", 1) and ("a", 11) are not confused.
        assert_ne!(attempt_span_id(run, "a1", 1), attempt_span_id(run, "a", 11));
    }

    #[test]
    fn the_derivation_does_not_change() {
        // A pinned value: changing the derivation splits the traces of runs resumed across
        // an upgrade, so it must be a decision, not an accident.
        assert_eq!(
            run_span_id("01JQ3Z6V7W8X9Y0ABCDEFGHJKM").to_string(),
            PINNED_RUN_SPAN
        );
    }

    const PINNED_RUN_SPAN: &str = "8447ce0c8791543a";
}
