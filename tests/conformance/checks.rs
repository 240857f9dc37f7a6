//! Reading what a run did from `engine show`, and the assertions the backends' tests share.

use serde_json::Value;

use crate::harness::{Conformance, NetnsRun, recorded};

/// The outcome of each attempt of `stage`, in order.
pub fn outcomes(show: &Value, stage: &str) -> Vec<String> {
    show["state"]["stages"][stage]["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["outcome"]["outcome"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The last attempt's failure (`kind`, `message`, `detail`), Null when it succeeded.
pub fn failure(show: &Value, stage: &str) -> Value {
    show["state"]["stages"][stage]["history"]
        .as_array()
        .and_then(|h| h.last())
        .map_or(Value::Null, |a| a["outcome"]["failure"].clone())
}

/// The first attempt's failure (Null when there is none).
pub fn first_failure<'a>(show: &'a Value, stage: &str) -> &'a Value {
    &show["state"]["stages"][stage]["history"][0]["outcome"]["failure"]
}

/// Everything `engine show` says about `stage`, as one string to search.
pub fn stage_text(show: &Value, stage: &str) -> String {
    show["state"]["stages"][stage].to_string()
}

/// The first number named `key` anywhere in `v`.
pub fn find_number(v: &Value, key: &str) -> Option<u64> {
    match v {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_u64)
            .or_else(|| map.values().find_map(|x| find_number(x, key))),
        Value::Array(items) => items.iter().find_map(|x| find_number(x, key)),
        _ => None,
    }
}

/// The run succeeded and main's hello.txt holds exactly `hello`.
#[track_caller]
pub fn assert_merged(c: &Conformance, r: &NetnsRun, hello: &str) {
    assert_eq!(r.run.code(), 0, "{}", r.context());
    assert_eq!(
        c.repo.git(&["show", "main:hello.txt"]),
        hello,
        "{}",
        r.context()
    );
}

/// The engine recorded for the agent stage exactly the tokens the mock sent in the requests
/// `pick` selects, and they are `expected`; returns them with the USD recorded.
#[track_caller]
pub fn assert_recorded_as_sent(
    show: &Value,
    r: &NetnsRun,
    pick: impl Fn(&Value) -> bool,
    expected: [u64; 4],
) -> ([u64; 4], f64) {
    let (tokens, usd) = recorded(show, "execute");
    assert_eq!(tokens, r.sent_tokens(pick), "{}", r.context());
    assert_eq!(tokens, expected, "{}", r.context());
    (tokens, usd)
}

/// The run failed, the agent stage's last attempt fatally with `detail` set, and what the
/// engine shows of the stage says `says`; returns that text.
#[track_caller]
pub fn assert_fatal(show: &Value, r: &NetnsRun, says: &str, detail: &str) -> String {
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = stage_text(show, "execute");
    assert!(stage.contains(says), "{stage}");
    let f = failure(show, "execute");
    assert_eq!(f["kind"], "fatal", "{stage}");
    assert_eq!(f["detail"][detail], true, "{stage}");
    stage
}

/// The run failed, the mock's stream hung (`hung` explains), and the watchdog killed the
/// session for inactivity.
#[track_caller]
pub fn assert_killed_inactive(show: &Value, r: &NetnsRun, hung: &str) {
    assert_ne!(r.run.code(), 0, "{}", r.context());
    assert!(
        r.log.iter().any(|e| e["kind"] == "hang"),
        "{hung}\n{}",
        r.context()
    );
    let stage = stage_text(show, "execute");
    assert!(
        stage.contains("killed-inactive") || stage.contains("killed_inactive"),
        "{stage}\n{}",
        r.context()
    );
}

/// The review stage recorded `expected` tokens (the persona's).
#[track_caller]
pub fn assert_review_recorded(c: &Conformance, r: &NetnsRun, expected: [u64; 4]) {
    let show = c.show(&r.run.run_id());
    assert_eq!(recorded(&show, "review").0, expected, "{}", r.context());
}

/// The stage's usage-limit reset is at most two minutes away (a per-minute limit, not hours).
#[track_caller]
pub fn assert_resets_within_two_minutes(show: &Value, stage: &str) {
    let text = stage_text(show, stage);
    let resets =
        find_number(&show["state"]["stages"][stage], "resets_at_ms").expect("a reset time");
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .expect("milliseconds since the epoch fit in a u64");
    assert!(
        resets <= now + 120_000,
        "resets at {resets}, now {now}: {text}"
    );
}

/// A workflow's prices for one model: USD per million tokens of input (not cached), output and
/// cache reads.
pub struct Prices {
    /// The model they are for.
    pub model: &'static str,
    /// USD per million input tokens not read from cache.
    pub input: f64,
    /// USD per million output tokens.
    pub output: f64,
    /// USD per million cache reads.
    pub cache_read: f64,
}

impl Prices {
    /// `input`, `output` and `cache_read` USD per million tokens of `model`.
    pub const fn per_million(model: &'static str, [input, output, cache_read]: [f64; 3]) -> Prices {
        Prices {
            model,
            input,
            output,
            cache_read,
        }
    }

    /// The workflow's `prices:` key.
    pub fn yaml(&self) -> String {
        format!(
            "prices:\n  {}: {{ input: {}, output: {}, cache_read: {} }}",
            self.model, self.input, self.output, self.cache_read
        )
    }

    /// The USD of `[input, output, cache_read, cache_write]` tokens.
    pub fn usd(&self, [input, output, cache_read, _]: [u64; 4]) -> f64 {
        (input as f64 * self.input
            + output as f64 * self.output
            + cache_read as f64 * self.cache_read)
            / 1_000_000.0
    }

    /// The recorded `usd` is `tokens` at these prices (and not zero).
    #[track_caller]
    pub fn assert_usd(&self, usd: f64, tokens: [u64; 4], r: &NetnsRun) {
        let want = self.usd(tokens);
        assert!(
            want > 0.0 && (usd - want).abs() < 1e-12,
            "recorded {usd} USD, tokens at the workflow's prices: {want}\n{}",
            r.context()
        );
    }
}
