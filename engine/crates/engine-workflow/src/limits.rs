//! Reading a stage's limits (`timeout`, `memory`) and retry policy from a stage or from
//! `defaults:`, with the checks JSON Schema cannot express (zero limits, units, overflow).

use engine_core::RetryPolicy;
use serde_json::Value;

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::units::{duration_ms, size_bytes};

/// A duration field in milliseconds; `None` when absent or not a string (the schema reports
/// wrong types) or unparseable (reported here).
pub(crate) fn duration(
    value: Option<&Value>,
    path: &FieldPath,
    problems: &mut Vec<Problem>,
) -> Option<u64> {
    let text = value?.as_str()?;
    match duration_ms(text) {
        Ok(ms) => Some(ms),
        Err(e) => {
            problems.push(Problem::at(path.clone(), e.to_string()));
            None
        }
    }
}

pub(crate) fn timeout(
    value: Option<&Value>,
    path: &FieldPath,
    problems: &mut Vec<Problem>,
) -> Option<u64> {
    let ms = duration(value, path, problems)?;
    if ms == 0 {
        problems.push(Problem::at(
            path.clone(),
            "a timeout must be at least 1ms (0 would fail every attempt)",
        ));
        return None;
    }
    Some(ms)
}

pub(crate) fn memory(
    value: Option<&Value>,
    path: &FieldPath,
    problems: &mut Vec<Problem>,
) -> Option<u64> {
    let value = value.filter(|v| v.is_number() || v.is_string())?;
    match size_bytes(value) {
        Ok(0) => {
            problems.push(Problem::at(
                path.clone(),
                "a memory limit must be greater than zero",
            ));
            None
        }
        Ok(bytes) => Some(bytes),
        Err(e) => {
            problems.push(Problem::at(path.clone(), e.to_string()));
            None
        }
    }
}

/// `base` with the keys given in `value` replaced.
pub(crate) fn merge_retry(
    base: RetryPolicy,
    value: Option<&Value>,
    path: &FieldPath,
    problems: &mut Vec<Problem>,
) -> RetryPolicy {
    let mut policy = base;
    let Some(body) = value.and_then(Value::as_object) else {
        return policy;
    };
    if let Some(n) = body.get("max_attempts").and_then(Value::as_u64) {
        match u32::try_from(n) {
            Ok(0) => problems.push(Problem::at(
                path.key("max_attempts"),
                "must be at least 1 (the first attempt counts)",
            )),
            Ok(n) => policy.max_attempts = n,
            Err(_) => problems.push(Problem::at(path.key("max_attempts"), "is too large")),
        }
    }
    let initial = path.key("initial_interval");
    if let Some(ms) = duration(body.get("initial_interval"), &initial, problems) {
        policy.initial_interval_ms = ms;
    }
    let max = path.key("max_interval");
    if let Some(ms) = duration(body.get("max_interval"), &max, problems) {
        policy.max_interval_ms = ms;
    }
    if let Some(backoff) = body.get("backoff").and_then(Value::as_f64) {
        if backoff.is_finite() && backoff >= 1.0 {
            policy.backoff = backoff;
        } else {
            problems.push(Problem::at(
                path.key("backoff"),
                format!("must be at least 1.0 (got {backoff}); delays may not shrink"),
            ));
        }
    }
    policy
}
