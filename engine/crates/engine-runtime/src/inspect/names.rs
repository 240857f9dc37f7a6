//! Versions in component import names (`engine:stage/log@0.1.0`) and the rule wasmtime's linker
//! applies to them, so a message can say "built against engine:stage@0.2.0" before wasmtime
//! says "a matching implementation was not found in the linker".

use std::cmp::Ordering;
use std::fmt;

/// The `engine:stage` version this host provides: the package version of `wit/stage.wit` and
/// `wit/source.wit` (a test checks they agree).
pub const HOST_WIT_VERSION: &str = "0.1.0";

/// The package whose version decides whether a plugin fits.
const PACKAGE: &str = "engine:stage";

/// A version of `engine:stage` a component imports from, as written in its import names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitVersion {
    /// As written (`0.2.0`; empty for an unversioned import).
    raw: String,
    /// `(major, minor, patch)` when it is plain semver without a pre-release part.
    release: Option<(u64, u64, u64)>,
}

impl WitVersion {
    /// Parses a version as written after `@` (build metadata after `+` is ignored).
    pub fn parse(raw: &str) -> WitVersion {
        let core = raw.split('+').next().unwrap_or_default();
        let mut parts = core.split('.').map(str::parse::<u64>);
        let release = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) => {
                Some((major, minor, patch))
            }
            _ => None,
        };
        WitVersion {
            raw: raw.to_string(),
            release,
        }
    }

    /// The version this host provides ([`HOST_WIT_VERSION`]).
    pub fn host() -> WitVersion {
        WitVersion::parse(HOST_WIT_VERSION)
    }

    /// As written (`0.1.0`).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether a component importing this version loads on a host providing `host`, by the
    /// rule of wasmtime's linker: the same version, or the same semver track (the same major
    /// from 1.0 on; below 1.0 the same minor, so 0.1.3 and 0.1.0 match but 0.2.0 does not);
    /// pre-releases and 0.0.x only match themselves.
    pub fn loads_on(&self, host: &WitVersion) -> bool {
        if self.raw == host.raw {
            return true;
        }
        match (self.track_key(), host.track_key()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// The compatibility track: `(major, None)` from 1.0, `(0, Some(minor))` below it.
    fn track_key(&self) -> Option<(u64, Option<u64>)> {
        match self.release? {
            (0, 0, _) => None,
            (0, minor, _) => Some((0, Some(minor))),
            (major, _, _) => Some((major, None)),
        }
    }

    /// Whether this version is later than `other` (unparsable versions are never later).
    pub fn is_newer_than(&self, other: &WitVersion) -> bool {
        match (self.release, other.release) {
            (Some(a), Some(b)) => a > b,
            _ => false,
        }
    }

    /// The track for a sentence: `0.1` below 1.0, `1.x` from it, else the version as written.
    pub fn track(&self) -> String {
        match self.release {
            Some((0, minor, _)) if minor > 0 => format!("0.{minor}"),
            Some((major, _, _)) if major > 0 => format!("{major}.x"),
            _ => self.raw.clone(),
        }
    }

    /// `engine:stage@0.2.0`, or `an unversioned engine:stage`.
    pub fn package(&self) -> String {
        if self.raw.is_empty() {
            format!("an unversioned {PACKAGE}")
        } else {
            format!("{PACKAGE}@{}", self.raw)
        }
    }
}

impl fmt::Display for WitVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl PartialOrd for WitVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WitVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release
            .cmp(&other.release)
            .then_with(|| self.raw.cmp(&other.raw))
    }
}

/// The `engine:stage` version an import name carries (`engine:stage/log@0.1.0` -> `0.1.0`);
/// `None` for imports of other packages.
pub(crate) fn engine_stage_version(import: &str) -> Option<WitVersion> {
    let (package_and_interface, version) = match import.split_once('@') {
        Some((name, version)) => (name, version),
        None => (import, ""),
    };
    let (package, _interface) = package_and_interface.split_once('/')?;
    (package == PACKAGE).then(|| WitVersion::parse(version))
}

/// An interface name without its version (`wasi:cli/run@0.2.0` -> `wasi:cli/run`).
pub(crate) fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> WitVersion {
        WitVersion::parse(raw)
    }

    #[test]
    fn the_host_version_is_the_one_in_the_wit_files() {
        for file in ["stage.wit", "source.wit"] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../wit/").to_string() + file;
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains(&format!("package engine:stage@{HOST_WIT_VERSION};")),
                "{path} does not declare engine:stage@{HOST_WIT_VERSION}"
            );
        }
    }

    #[test]
    fn versions_load_on_the_same_semver_track_only() {
        let host = v("0.1.0");
        assert!(v("0.1.0").loads_on(&host));
        assert!(v("0.1.7").loads_on(&host));
        assert!(!v("0.2.0").loads_on(&host));
        assert!(!v("1.0.0").loads_on(&host));
        assert!(!v("0.1.1-rc.1").loads_on(&host));
        assert!(!v("").loads_on(&host));
        assert!(v("1.4.0").loads_on(&v("1.0.2")));
        assert!(!v("2.0.0").loads_on(&v("1.9.0")));
        assert!(!v("0.0.2").loads_on(&v("0.0.1")));
        assert!(v("0.0.1").loads_on(&v("0.0.1")));
        assert!(v("0.2.0").is_newer_than(&host));
        assert!(!v("0.0.9").is_newer_than(&host));
        assert_eq!(v("0.2.3").track(), "0.2");
        assert_eq!(v("1.2.3").track(), "1.x");
        assert_eq!(v("0.2.0").package(), "engine:stage@0.2.0");
        assert_eq!(v("").package(), "an unversioned engine:stage");
    }

    #[test]
    fn versions_come_from_engine_stage_imports_only() {
        assert_eq!(
            engine_stage_version("engine:stage/log@0.2.0"),
            Some(v("0.2.0"))
        );
        assert_eq!(engine_stage_version("engine:stage/types"), Some(v("")));
        assert_eq!(engine_stage_version("wasi:io/streams@0.2.6"), None);
        assert_eq!(engine_stage_version("engine:stagey/log@0.1.0"), None);
        assert_eq!(engine_stage_version("describe"), None);
        assert_eq!(unversioned("wasi:cli/run@0.2.0"), "wasi:cli/run");
        assert_eq!(unversioned("describe"), "describe");
    }
}
