//! Turns of the workflows' concurrency groups (`concurrency:` in a workflow): at most `limit`
//! runs of one group are driven at once by the engine process holding the state directory; the
//! others wait, recorded, until a turn is free.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use engine_workflow::Concurrency;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::report::Reporter;

/// The groups of one engine process, created on first use with the limit of the first
/// workflow that names them.
#[derive(Debug, Default)]
pub struct Slots {
    groups: Mutex<HashMap<String, (u32, Arc<Semaphore>)>>,
}

/// A run's turn in its group, held while it is driven.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    /// The group's semaphore and the limit it was created with.
    fn group(&self, concurrency: &Concurrency) -> (u32, Arc<Semaphore>) {
        // A poisoned map still holds valid groups: a panic cannot leave one half-inserted.
        let mut groups = self
            .groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let limit = concurrency.limit.max(1);
        groups
            .entry(concurrency.group.clone())
            .or_insert_with(|| (limit, Arc::new(Semaphore::new(limit as usize))))
            .clone()
    }

    /// A turn in `concurrency`'s group now if one is free, else the group's limit.
    pub fn try_turn(&self, concurrency: &Concurrency) -> Result<Turn, u32> {
        let (limit, semaphore) = self.group(concurrency);
        semaphore
            .try_acquire_owned()
            .map(|permit| Turn { _permit: permit })
            .map_err(|_| limit)
    }

    /// Waits for a turn in `concurrency`'s group (`None` only if the group's semaphore were
    /// closed, which never happens: the run then goes on without one).
    pub async fn turn(&self, concurrency: &Concurrency) -> Option<Turn> {
        let (_, semaphore) = self.group(concurrency);
        semaphore
            .acquire_owned()
            .await
            .ok()
            .map(|permit| Turn { _permit: permit })
    }

    /// Waits for run `run_id`'s turn in its workflow's concurrency group, saying so when it
    /// has to wait.
    pub async fn take_turn(
        &self,
        concurrency: &Concurrency,
        run_id: &str,
        reporter: &dyn Reporter,
    ) -> Option<Turn> {
        match self.try_turn(concurrency) {
            Ok(turn) => Some(turn),
            Err(limit) => {
                reporter.message(&format!(
                    "run {run_id} waits for a turn of concurrency group {} ({limit} run{} at once)",
                    crate::terminal::safe(&concurrency.group),
                    if limit == 1 { "" } else { "s" }
                ));
                self.turn(concurrency).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, limit: u32) -> Concurrency {
        Concurrency {
            group: name.into(),
            limit,
        }
    }

    #[tokio::test]
    async fn a_group_gives_at_most_its_limit_of_turns_and_frees_them_on_drop() {
        let slots = Slots::default();
        let first = slots.turn(&group("merges", 2)).await;
        assert!(first.is_some());
        let second = slots.try_turn(&group("merges", 2)).unwrap();
        assert_eq!(slots.try_turn(&group("merges", 2)).err(), Some(2));
        // Another group is not affected; a later different limit does not change the group.
        assert!(slots.try_turn(&group("docs", 1)).is_ok());
        assert_eq!(slots.try_turn(&group("merges", 5)).err(), Some(2));
        drop(first);
        let third = slots.try_turn(&group("merges", 2));
        assert!(third.is_ok());
        drop((second, third));
    }
}
