//! What stops a driver before its run ends: SIGINT/SIGTERM when it handles them, and the stop
//! request of whoever drives it (the run modes, which listen for the signals themselves, stop
//! every run at once).

use crate::EngineError;

/// SIGINT/SIGTERM, when the driver handles them, and the stop request of whoever drives it.
pub(crate) struct Signals {
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Signals {
    /// Listens for SIGINT/SIGTERM when `enabled`, and for `stop`.
    pub(crate) fn new(
        enabled: bool,
        stop: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<Self, EngineError> {
        use tokio::signal::unix::{SignalKind, signal};
        if !enabled {
            return Ok(Signals {
                streams: None,
                stop,
            });
        }
        let int = signal(SignalKind::interrupt()).map_err(|e| EngineError::io("SIGINT", e))?;
        let term = signal(SignalKind::terminate()).map_err(|e| EngineError::io("SIGTERM", e))?;
        Ok(Signals {
            streams: Some((int, term)),
            stop,
        })
    }

    /// Ends once the driver is asked to stop.
    pub(crate) async fn recv(&mut self) {
        let Signals { streams, stop } = self;
        let signalled = async {
            match streams {
                Some((int, term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                None => std::future::pending().await,
            }
        };
        let stopped = async {
            match stop {
                // A dropped sender is not a request to stop.
                Some(rx) => {
                    if rx.wait_for(|stop| *stop).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = signalled => {},
            () = stopped => {},
        }
    }
}
