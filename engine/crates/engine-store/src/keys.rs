//! Run ids, record keys and prefix resolution shared by the backends.

use crate::StoreError;

/// Longest accepted run id.
const MAX_RUN_ID_LEN: usize = 128;

/// Accepts 1 to 128 ASCII letters, digits, `-` and `_` (ULIDs qualify). This keeps ids safe as
/// file names and free of the NUL byte that separates them from the seq in event keys.
pub(crate) fn validate_run_id(run_id: &str) -> Result<(), StoreError> {
    let valid = !run_id.is_empty()
        && run_id.len() <= MAX_RUN_ID_LEN
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidRunId(run_id.to_string()))
    }
}

/// The prefix every event key of `run_id` starts with: the id's bytes, then 0x00.
pub(crate) fn event_prefix(run_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(run_id.len() + 9);
    key.extend_from_slice(run_id.as_bytes());
    key.push(0);
    key
}

/// The key of event `seq` of `run_id`: prefix, then seq big-endian, so a prefix scan returns
/// the events in order.
pub(crate) fn event_key(run_id: &str, seq: u64) -> Vec<u8> {
    let mut key = event_prefix(run_id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The seq encoded in an event key of `run_id`.
pub(crate) fn event_seq(run_id: &str, key: &[u8]) -> Result<u64, StoreError> {
    let prefix_len = run_id.len() + 1;
    let bytes: Option<[u8; 8]> = key
        .get(prefix_len..)
        .and_then(|suffix| suffix.try_into().ok());
    bytes
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            run_id: run_id.to_string(),
            key: format!("events/{}", String::from_utf8_lossy(key).escape_debug()),
            detail: format!(
                "event key has {} bytes after the run id, expected 9",
                key.len().saturating_sub(run_id.len())
            ),
        })
}

/// How an event key is named in messages.
pub(crate) fn event_key_name(run_id: &str, seq: u64) -> String {
    format!("events/{run_id}/{seq}")
}

/// How a snapshot key is named in messages.
pub(crate) fn snapshot_key_name(run_id: &str) -> String {
    format!("snapshots/{run_id}")
}

/// How a meta key is named in messages.
pub(crate) fn meta_key_name(run_id: &str) -> String {
    format!("meta/{run_id}")
}

/// Picks the run id `prefix` designates among `ids` (all of which start with it): an exact
/// match, else the only one. `ids` may be in any order; `Ambiguous` lists them newest first.
pub(crate) fn resolve_among(prefix: &str, mut ids: Vec<String>) -> Result<String, StoreError> {
    if prefix.is_empty() {
        return Err(StoreError::NotFound(String::new()));
    }
    if ids.iter().any(|id| id == prefix) {
        return Ok(prefix.to_string());
    }
    match ids.len() {
        0 => Err(StoreError::NotFound(prefix.to_string())),
        1 => Ok(ids.swap_remove(0)),
        _ => {
            ids.sort_unstable_by(|a, b| b.cmp(a));
            Err(StoreError::Ambiguous {
                prefix: prefix.to_string(),
                matches: ids,
            })
        }
    }
}

/// Decodes a JSON record, naming the run and key on failure.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    run_id: &str,
    key: impl FnOnce() -> String,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        run_id: run_id.to_string(),
        key: key(),
        detail: e.to_string(),
    })
}

/// Encodes a record as JSON.
pub(crate) fn encode<T: serde::Serialize>(
    run_id: &str,
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode {
        run_id: run_id.to_string(),
        what,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_seq_and_stay_within_their_run() {
        let mut keys = vec![
            event_key("r1", 256),
            event_key("r10", 1),
            event_key("r1", 2),
            event_key("r1", 255),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                event_key("r1", 2),
                event_key("r1", 255),
                event_key("r1", 256),
                event_key("r10", 1),
            ]
        );
        assert!(!event_key("r10", 1).starts_with(&event_prefix("r1")));
        assert_eq!(event_seq("r1", &event_key("r1", 300)).unwrap(), 300);
        assert!(matches!(
            event_seq("r1", b"r1\0abc"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn run_ids_are_validated() {
        for ok in ["01J9ZV3Q5X8N2K4M6P7R9T0W1Y", "run-1", "a_b"] {
            validate_run_id(ok).unwrap();
        }
        for bad in ["", "a/b", "..", "a\0b", "x y", "é", &"a".repeat(129)] {
            assert!(validate_run_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resolve_prefers_exact_then_unique() {
        let ids = |v: &[&str]| {
            v.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(resolve_among("ab", ids(&["abc"])).unwrap(), "abc");
        assert_eq!(resolve_among("ab", ids(&["abc", "ab"])).unwrap(), "ab");
        match resolve_among("a", ids(&["ab", "ac"])) {
            Err(StoreError::Ambiguous { prefix, matches }) => {
                assert_eq!(prefix, "a");
                assert_eq!(matches, ["ac", "ab"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve_among("z", vec![]),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            resolve_among("", ids(&["a"])),
            Err(StoreError::NotFound(_))
        ));
    }
}
