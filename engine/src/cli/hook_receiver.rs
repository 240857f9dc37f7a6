//! `engine hook-receiver`: print the webhook deliveries sent to a loopback address.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::hook_receiver::Receiver;
use crate::{EngineError, exit};

/// Arguments of `engine hook-receiver`.
#[derive(Debug, Args)]
pub struct HookReceiverArgs {
    /// Loopback address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Stop after this many deliveries.
    #[arg(long)]
    pub count: Option<usize>,
    /// Append each delivery as a JSON line to this file (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(super) fn execute(args: &HookReceiverArgs) -> Result<u8, EngineError> {
    let receiver = Receiver::bind(args.listen).map_err(|e| EngineError::Usage(e.to_string()))?;
    let addr = receiver
        .local_addr()
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    // The first line says where to send: scripts read it.
    println!("http://{addr}/");
    let _ = std::io::stdout().flush();
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| EngineError::Usage(format!("--out {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    receiver
        .serve(args.count, |delivery| {
            if let Ok(line) = serde_json::to_string(delivery) {
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        })
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(exit::SUCCESS)
}
