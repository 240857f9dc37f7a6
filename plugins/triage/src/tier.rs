//! Model tiers, ordered from the cheapest to the strongest.

use serde::{Deserialize, Deserializer};

/// A model tier; the workflow's `models:` maps each to a model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Mechanical changes: typos, renames, a config value.
    Primitive,
    /// Ordinary feature and bug-fix work.
    Smart,
    /// Cross-cutting, subtle or large work.
    Genius,
}

impl Tier {
    /// Every tier, cheapest first.
    pub const ALL: [Tier; 3] = [Tier::Primitive, Tier::Smart, Tier::Genius];

    /// The strongest tier: what a run is forced to after a stall.
    pub const TOP: Tier = Tier::Genius;

    /// `genius`, `smart` or `primitive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Primitive => "primitive",
            Tier::Smart => "smart",
            Tier::Genius => "genius",
        }
    }

    /// Parses a tier name, ignoring case and surrounding whitespace.
    pub fn parse(text: &str) -> Option<Tier> {
        let text = text.trim();
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tier, D::Error> {
        let text = String::deserialize(deserializer)?;
        Tier::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown tier {text:?}: use genius, smart or primitive"
            ))
        })
    }
}

/// Deserializes an optional tier where an empty string (a template that rendered to nothing)
/// means none.
pub fn optional_tier<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Tier>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) => Tier::parse(name).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown tier {name:?}: use genius, smart or primitive"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_ordered_and_parse_loosely() {
        assert!(Tier::Primitive < Tier::Smart && Tier::Smart < Tier::Genius);
        assert_eq!(Tier::parse(" Genius "), Some(Tier::Genius));
        assert_eq!(Tier::parse("SMART"), Some(Tier::Smart));
        assert_eq!(Tier::parse("opus"), None);
        assert_eq!(Tier::TOP, Tier::Genius);
    }

    #[test]
    fn tiers_deserialize_with_a_clear_error() {
        let t: Tier = serde_json::from_str("\"primitive\"").unwrap();
        assert_eq!(t, Tier::Primitive);
        let err = serde_json::from_str::<Tier>("\"huge\"").unwrap_err();
        assert!(err.to_string().contains("unknown tier \"huge\""), "{err}");
    }
}
