//! Plain words for a component that looked right (the right kind, a version this host
//! provides) but did not pre-instantiate: the interfaces it imports that the host lacks, or —
//! when every name is there — a WIT that differs from this engine's, with wasmtime's own words
//! kept as the detail.

use super::{HOST_WIT_VERSION, Inspection, WitVersion};

/// The WASI interfaces this host provides, by package (a test checks each is provided).
pub(crate) const WASI_PACKAGES: [&str; 7] = [
    "wasi:cli",
    "wasi:clocks",
    "wasi:filesystem",
    "wasi:io",
    "wasi:random",
    "wasi:sockets",
    "wasi:http",
];

/// What this host provides, for messages: `engine:stage@0.1.0 (types, log, ...) and WASI 0.2
/// (wasi:cli, ...)`.
pub fn host_provides() -> String {
    format!(
        "engine:stage@{HOST_WIT_VERSION} (types, log, exec, agent, source-types) and WASI 0.2 \
         ({})",
        WASI_PACKAGES.join(", ")
    )
}

impl Inspection {
    /// `is a stage built against engine:stage@0.1.0` (or without the version when it names
    /// none).
    fn what_and_version(&self) -> String {
        let versions = self.wit_versions();
        if versions.is_empty() {
            self.kind.phrase().to_string()
        } else {
            let list: Vec<String> = versions.iter().map(WitVersion::package).collect();
            format!(
                "{} built against {}",
                self.kind.phrase(),
                list.join(" and ")
            )
        }
    }

    /// `; it also imports interfaces this engine does not provide: a, b` (empty when none).
    pub(crate) fn unprovided_suffix(unprovided: &[String]) -> String {
        if unprovided.is_empty() {
            String::new()
        } else {
            format!(
                "; it also imports interfaces this engine does not provide: {}",
                unprovided.join(", ")
            )
        }
    }

    /// Why the component, which [`Inspection::refusal`] let through, did not load:
    /// `unprovided` are its imports the host lacks ([`super::unprovided_imports`]), `detail`
    /// is wasmtime's explanation (shown only when nothing plainer can be said).
    pub fn link_failure(&self, unprovided: &[String], detail: &str) -> String {
        let what = self.what_and_version();
        if !unprovided.is_empty() {
            return format!(
                "is {what} that imports interfaces this engine does not provide: {}; this \
                 engine provides {}",
                unprovided.join(", "),
                host_provides()
            );
        }
        let host = WitVersion::host();
        if self.wit_version().is_some_and(|v| v.is_newer_than(&host)) {
            return format!(
                "is {what}, newer than this engine's engine:stage@{host}, and uses something \
                 {host} does not have: upgrade engine, or rebuild it against {host} \
                 (`engine plugin build` uses this engine's WIT); wasmtime says: {detail}",
                host = host.as_str()
            );
        }
        let same_version = if self.wit_version().as_ref() == Some(&host) {
            " under the same version"
        } else {
            ""
        };
        format!(
            "is {what}, but its imports or exports do not match this engine's \
             engine:stage@{host}: it was built from a WIT that differs from this \
             engine's{same_version}; rebuild it against this engine's WIT (`engine plugin new` \
             and `engine plugin build` use it); wasmtime says: {detail}",
            host = host.as_str(),
        )
    }
}
