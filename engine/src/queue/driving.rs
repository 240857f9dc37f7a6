//! The runs this process drives now, so one run is never driven twice at once by one process
//! (`engine resume RUN` submitted while the holder drives RUN).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use crate::EngineError;

static DRIVEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// A run taken to be driven by this process, until dropped.
#[derive(Debug)]
pub struct Driving {
    run_id: String,
}

/// Takes run `run_id` to drive it; an error when this process drives it already.
pub fn claim(run_id: &str) -> Result<Driving, EngineError> {
    let mut driven = DRIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    if !driven.get_or_insert_default().insert(run_id.to_string()) {
        return Err(EngineError::Usage(format!(
            "run {run_id} is being driven by engine process {} already; follow it with `engine \
             logs -f {run_id}`",
            std::process::id()
        )));
    }
    Ok(Driving {
        run_id: run_id.to_string(),
    })
}

/// Every run this process drives now.
pub fn all() -> Vec<String> {
    let driven = DRIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut runs: Vec<String> = driven.iter().flatten().cloned().collect();
    runs.sort();
    runs
}

/// Whether this process drives run `run_id` now.
pub fn is_driven(run_id: &str) -> bool {
    DRIVEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_some_and(|driven| driven.contains(run_id))
}

impl Drop for Driving {
    fn drop(&mut self) {
        let mut driven = DRIVEN.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(driven) = driven.as_mut() {
            driven.remove(&self.run_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_driven_once_at_a_time() {
        let first = claim("01DRIVING-TEST").unwrap();
        assert!(is_driven("01DRIVING-TEST"));
        assert!(all().contains(&"01DRIVING-TEST".to_string()));
        let again = claim("01DRIVING-TEST").unwrap_err();
        assert!(
            again
                .to_string()
                .starts_with("run 01DRIVING-TEST is being driven")
        );
        drop(first);
        assert!(!is_driven("01DRIVING-TEST"));
        assert!(claim("01DRIVING-TEST").is_ok());
    }
}
