//! What `builtin:webhook` and `builtin:telegram` share: the variables their `message` templates
//! see ([`message_context`]), template rendering ([`render`]), reading a config without quoting
//! its secrets ([`parse_config`]), delivery over a [`Transport`] (the SDK's HTTP client, or a
//! fake in tests) and the errors a failed delivery becomes.
#![warn(missing_docs)]

mod config;
mod context;
mod delivery;
mod template;

pub use config::parse_config;
pub use context::{RunFacts, message_context};
pub use delivery::{
    SdkTransport, Transport, excerpt, http_failure, parse_timeout, redact, request_failure,
};
pub use template::render;
