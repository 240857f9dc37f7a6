//! Turns for at-most-once stages when one process drives several runs (`--parallel`): their
//! merges into the same base branch go one at a time, so none of them finds the base moved
//! under it (`builtin:merge` moves the base by compare-and-swap and would fail retryably).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One lane per base branch (of one repository).
#[derive(Debug, Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Lanes {
    /// The lane of `key` (a repository and base branch), created on first use.
    pub fn lane(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        // A poisoned map still holds valid lanes: a panic cannot leave one half-inserted.
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lanes.entry(key.to_string()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_per_lane_at_a_time() {
        let lanes = Lanes::default();
        let main = lanes.lane("/repo\0main");
        let turn = main.clone().try_lock_owned().unwrap();
        assert!(lanes.lane("/repo\0main").try_lock_owned().is_err());
        assert!(lanes.lane("/repo\0dev").try_lock_owned().is_ok());
        drop(turn);
        assert!(lanes.lane("/repo\0main").try_lock_owned().is_ok());
    }
}
