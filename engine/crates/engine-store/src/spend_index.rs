//! What each run spent per UTC day, kept as an index so the day's budget reads only the runs of
//! that day instead of decoding every run ever stored.
//!
//! An attempt's spend counts on the UTC day it ended (or, still running, started):
//! [`spend_by_day`]. The sled store keeps two trees in step with the snapshots, written in the
//! same transaction as each snapshot (so no crash can leave them apart):
//!
//! - `day_spend`: UTC day (big-endian u64), then run id → that run's spend on that day;
//! - `spend_days`: run id → the days it has entries for (big-endian u64s), so an entry a new
//!   snapshot no longer has is removed.
//!
//! The index is derived from the snapshots alone: a database written before it existed is
//! indexed when opened ([`rebuild`]), and [`SPEND_INDEX_VERSION`] in the `index_info` tree says
//! it is complete.

use std::collections::BTreeMap;

use engine_core::{AttemptRecord, RunState, Spend};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::StoreError;
use crate::keys::{decode, snapshot_key_name};

/// Milliseconds in a day.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// The key in `index_info` saying the spend index is complete, and its value.
pub(crate) const SPEND_INDEX_KEY: &[u8] = b"spend_by_day";
/// The version of the spend index's layout.
pub(crate) const SPEND_INDEX_VERSION: &[u8] = b"1";

/// The UTC day (days since the Unix epoch) of `ms`.
pub fn utc_day(ms: u64) -> u64 {
    ms / DAY_MS
}

/// The UTC day an attempt's spend counts on: the day it ended, or, still running, started.
pub fn attempt_day(record: &AttemptRecord) -> u64 {
    utc_day(record.ended_at_ms.unwrap_or(record.started_at_ms))
}

/// What the run's attempts spent on each UTC day (days without an attempt are absent). Each
/// day's sum adds the attempts in stage order, then attempt order.
pub fn spend_by_day(state: &RunState) -> BTreeMap<u64, Spend> {
    let mut days: BTreeMap<u64, Spend> = BTreeMap::new();
    for record in state.stages.values().flat_map(|s| &s.history) {
        let day = days.entry(attempt_day(record)).or_insert(Spend::NONE);
        *day = *day + record.spend;
    }
    days
}

/// Bytes of an encoded [`Spend`].
const SPEND_BYTES: usize = 6 * 8 + 1;

/// A spend as bytes: the cost's bits (exact, unlike decimal text), the token counts and the
/// two flags.
fn encode_spend(spend: &Spend) -> [u8; SPEND_BYTES] {
    let mut out = [0u8; SPEND_BYTES];
    let words = [
        spend.cost_usd.to_bits(),
        spend.input_tokens,
        spend.output_tokens,
        spend.cache_read_tokens,
        spend.cache_write_tokens,
        0,
    ];
    for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out[SPEND_BYTES - 1] = u8::from(spend.cost_known) | (u8::from(spend.cost_estimated) << 1);
    out
}

/// The spend [`encode_spend`] wrote; `None` if `bytes` are not one.
fn decode_spend(bytes: &[u8]) -> Option<Spend> {
    if bytes.len() != SPEND_BYTES {
        return None;
    }
    let word = |i: usize| {
        let chunk: [u8; 8] = bytes.get(i * 8..i * 8 + 8)?.try_into().ok()?;
        Some(u64::from_be_bytes(chunk))
    };
    let flags = bytes[SPEND_BYTES - 1];
    Some(Spend {
        cost_usd: f64::from_bits(word(0)?),
        input_tokens: word(1)?,
        output_tokens: word(2)?,
        cache_read_tokens: word(3)?,
        cache_write_tokens: word(4)?,
        cost_known: flags & 1 != 0,
        cost_estimated: flags & 2 != 0,
    })
}

/// The key of `run_id`'s entry for `day` in `day_spend`.
fn day_key(day: u64, run_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + run_id.len());
    key.extend_from_slice(&day.to_be_bytes());
    key.extend_from_slice(run_id.as_bytes());
    key
}

/// The days in a `spend_days` value.
fn days_of(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .filter_map(|chunk| chunk.try_into().ok().map(u64::from_be_bytes))
        .collect()
}

/// A run's index entries, computed from its snapshot before a transaction.
pub(crate) struct RunEntries {
    /// `day_spend` entries: key, encoded spend.
    entries: Vec<(Vec<u8>, [u8; SPEND_BYTES])>,
    /// The `spend_days` value.
    days: Vec<u8>,
}

impl RunEntries {
    /// The entries of the snapshot `state_json` of `run_id`, as it will be read back (JSON
    /// does not always give back a cost's last bit, and the index must agree with a read of
    /// every stored run).
    pub(crate) fn of_stored(run_id: &str, state_json: &[u8]) -> Result<RunEntries, StoreError> {
        let state: RunState = decode(run_id, || snapshot_key_name(run_id), state_json)?;
        Ok(RunEntries::of(&state))
    }

    /// The entries of `state`.
    pub(crate) fn of(state: &RunState) -> RunEntries {
        let by_day = spend_by_day(state);
        RunEntries {
            entries: by_day
                .iter()
                .map(|(day, spend)| (day_key(*day, &state.run_id), encode_spend(spend)))
                .collect(),
            days: by_day.keys().flat_map(|day| day.to_be_bytes()).collect(),
        }
    }

    /// Inside a transaction: replaces `run_id`'s entries with these.
    pub(crate) fn write(
        &self,
        run_id: &str,
        day_spend: &TransactionalTree,
        spend_days: &TransactionalTree,
    ) -> Result<(), ConflictableTransactionError<StoreError>> {
        if let Some(old) = spend_days.get(run_id.as_bytes())? {
            for day in days_of(&old) {
                day_spend.remove(day_key(day, run_id))?;
            }
        }
        for (key, spend) in &self.entries {
            day_spend.insert(key.as_slice(), &spend[..])?;
        }
        spend_days.insert(run_id.as_bytes(), self.days.as_slice())?;
        Ok(())
    }
}

/// Every run's spend on `day` from the `day_spend` tree, newest run first.
pub(crate) fn read_day(
    day_spend: &sled::Tree,
    day: u64,
) -> Result<Vec<(String, Spend)>, StoreError> {
    let mut runs = Vec::new();
    for item in day_spend.scan_prefix(day.to_be_bytes()).rev() {
        let (key, value) = item.map_err(StoreError::sled("reading the spend index"))?;
        let run_id = String::from_utf8_lossy(key.get(8..).unwrap_or_default()).into_owned();
        let spend = decode_spend(&value).ok_or_else(|| StoreError::Corrupt {
            key: format!("day_spend/{day}/{run_id}"),
            detail: format!(
                "a spend entry of {} bytes, expected {SPEND_BYTES}",
                value.len()
            ),
            run_id: run_id.clone(),
        })?;
        runs.push((run_id, spend));
    }
    Ok(runs)
}

/// Indexes every stored snapshot again, then marks the index complete (after it is on disk:
/// a crash before that leaves it unmarked, to be rebuilt at the next open). Fails, leaving the
/// index unmarked, when a snapshot cannot be decoded.
pub(crate) fn rebuild(
    db: &sled::Db,
    snapshots: &sled::Tree,
    day_spend: &sled::Tree,
    spend_days: &sled::Tree,
    index_info: &sled::Tree,
) -> Result<(), StoreError> {
    day_spend
        .clear()
        .map_err(StoreError::sled("clearing the spend index"))?;
    spend_days
        .clear()
        .map_err(StoreError::sled("clearing the spend index"))?;
    for item in snapshots {
        let (key, bytes) = item.map_err(StoreError::sled("reading snapshots"))?;
        let run_id = String::from_utf8_lossy(&key).into_owned();
        let state: RunState = decode(&run_id, || snapshot_key_name(&run_id), &bytes)?;
        let entries = RunEntries::of(&state);
        for (key, spend) in &entries.entries {
            day_spend
                .insert(key.as_slice(), &spend[..])
                .map_err(StoreError::sled("writing the spend index"))?;
        }
        spend_days
            .insert(&key, entries.days)
            .map_err(StoreError::sled("writing the spend index"))?;
    }
    db.flush()
        .map_err(StoreError::sled("flushing the spend index"))?;
    index_info
        .insert(SPEND_INDEX_KEY, SPEND_INDEX_VERSION)
        .map_err(StoreError::sled("marking the spend index complete"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spend_survives_its_encoding_bit_for_bit() {
        let spend = Spend {
            cost_usd: 0.1 + 0.2,
            cost_known: false,
            input_tokens: 1,
            output_tokens: u64::MAX,
            cache_read_tokens: 3,
            cache_write_tokens: 4,
            cost_estimated: true,
        };
        let back = decode_spend(&encode_spend(&spend)).unwrap();
        assert_eq!(back, spend);
        assert_eq!(back.cost_usd.to_bits(), spend.cost_usd.to_bits());
        assert_eq!(decode_spend(&[0; 3]), None);
    }
}
