//! Which session of the script an invocation plays.
//!
//! A session is a list of steps (played in invocation order), or a mapping
//! `{match: REGEX, steps: [...]}` played by the invocation whose prompt the regular expression
//! matches. Matched sessions let parallel callers (several agent sessions started at once)
//! each get their own session no matter which process starts first:
//!
//! 1. The first session with a `match` that finds the prompt and was not played yet.
//! 2. Else, when some `match` sessions find the prompt but all were played: the last of them
//!    again.
//! 3. Else the next session without `match`, in order (the last one again past the end). Only
//!    these sessions advance the order, so scripts without `match` behave as before.

use std::collections::BTreeSet;
use std::fmt;

use regex::Regex;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::step::Step;

/// A regular expression a prompt must match (searched anywhere in the prompt; a plain word
/// matches itself).
#[derive(Debug, Clone)]
pub struct Matcher(Regex);

impl Matcher {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Matcher, regex::Error> {
        Regex::new(pattern).map(Matcher)
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the prompt matches.
    pub fn is_match(&self, prompt: &str) -> bool {
        self.0.is_match(prompt)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.pattern() == other.pattern()
    }
}

/// One session of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSession {
    /// When set, the session is played by an invocation whose prompt matches.
    pub matcher: Option<Matcher>,
    /// The steps.
    pub steps: Vec<Step>,
}

/// The session an invocation plays (0-based index into the script's sessions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// A `match` session, chosen by the prompt.
    Matched(usize),
    /// A session without `match`, chosen by order.
    Ordered(usize),
}

impl Choice {
    /// The session's 0-based index.
    pub fn index(self) -> usize {
        match self {
            Choice::Matched(i) | Choice::Ordered(i) => i,
        }
    }
}

/// Chooses the session for `prompt`, given the `match` sessions already played (`used`) and how
/// many sessions without `match` were played (`ordered_played`). `None` when no session fits
/// (no `match` finds the prompt and the script has no session without `match`).
pub fn choose(
    sessions: &[ScriptSession],
    prompt: &str,
    used: &BTreeSet<usize>,
    ordered_played: u64,
) -> Option<Choice> {
    let matching: Vec<usize> = sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| s.matcher.as_ref().is_some_and(|m| m.is_match(prompt)))
        .map(|(i, _)| i)
        .collect();
    if let Some(unused) = matching.iter().find(|i| !used.contains(i)) {
        return Some(Choice::Matched(*unused));
    }
    if let Some(last) = matching.last() {
        return Some(Choice::Matched(*last));
    }
    let ordered: Vec<usize> = sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| s.matcher.is_none())
        .map(|(i, _)| i)
        .collect();
    let position = usize::try_from(ordered_played).unwrap_or(usize::MAX);
    let position = position.min(ordered.len().checked_sub(1)?);
    ordered.get(position).map(|i| Choice::Ordered(*i))
}

impl<'de> Deserialize<'de> for ScriptSession {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SessionVisitor)
    }
}

struct SessionVisitor;

impl<'de> Visitor<'de> for SessionVisitor {
    type Value = ScriptSession;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter
            .write_str("a session: a list of steps, or a mapping `{match: REGEX, steps: [...]}`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScriptSession, A::Error> {
        let mut steps = Vec::new();
        while let Some(step) = seq.next_element::<Step>()? {
            steps.push(step);
        }
        Ok(ScriptSession {
            matcher: None,
            steps,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScriptSession, A::Error> {
        let mut matcher = None;
        let mut steps = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "match" => {
                    let pattern: String = map.next_value()?;
                    let compiled = Matcher::new(&pattern).map_err(|e| {
                        de::Error::custom(format!("invalid `match` regex {pattern:?}: {e}"))
                    })?;
                    matcher = Some(compiled);
                }
                "steps" => steps = Some(map.next_value::<Vec<Step>>()?),
                other => return Err(de::Error::unknown_field(other, &["match", "steps"])),
            }
        }
        let steps = steps.ok_or_else(|| de::Error::missing_field("steps"))?;
        if matcher.is_none() {
            return Err(de::Error::missing_field("match"));
        }
        Ok(ScriptSession { matcher, steps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pattern: Option<&str>, text: &str) -> ScriptSession {
        ScriptSession {
            matcher: pattern.map(|p| Matcher::new(p).unwrap()),
            steps: vec![Step::Say(text.into())],
        }
    }

    fn script() -> Vec<ScriptSession> {
        vec![
            session(None, "execute 1"),
            session(Some("`quality` reviewer"), "quality 1"),
            session(Some("`security` reviewer"), "security 1"),
            session(Some("`quality` reviewer"), "quality 2"),
            session(None, "execute 2"),
        ]
    }

    #[test]
    fn a_matching_prompt_takes_the_first_unused_matching_session() {
        let s = script();
        let prompt = "You are the `quality` reviewer";
        assert_eq!(
            choose(&s, prompt, &BTreeSet::new(), 0),
            Some(Choice::Matched(1))
        );
        assert_eq!(
            choose(&s, prompt, &BTreeSet::from([1]), 0),
            Some(Choice::Matched(3))
        );
        // All played: the last matching one again.
        assert_eq!(
            choose(&s, prompt, &BTreeSet::from([1, 3]), 0),
            Some(Choice::Matched(3))
        );
        assert_eq!(
            choose(&s, "the `security` reviewer", &BTreeSet::from([1, 3]), 0),
            Some(Choice::Matched(2))
        );
    }

    #[test]
    fn other_prompts_take_the_sessions_without_match_in_order() {
        let s = script();
        let used = BTreeSet::from([1, 2, 3]);
        assert_eq!(
            choose(&s, "implement it", &used, 0),
            Some(Choice::Ordered(0))
        );
        assert_eq!(
            choose(&s, "implement it", &used, 1),
            Some(Choice::Ordered(4))
        );
        assert_eq!(
            choose(&s, "implement it", &used, 7),
            Some(Choice::Ordered(4))
        );
    }

    #[test]
    fn no_fitting_session_is_none() {
        let s = vec![session(Some("^review"), "r")];
        assert_eq!(choose(&s, "execute", &BTreeSet::new(), 0), None);
        assert_eq!(
            choose(&s, "review this", &BTreeSet::new(), 0),
            Some(Choice::Matched(0))
        );
    }

    #[test]
    fn patterns_are_regular_expressions() {
        let m = Matcher::new(r"^You are the `(quality|tests)` reviewer").unwrap();
        assert!(m.is_match("You are the `tests` reviewer of a change"));
        assert!(!m.is_match("Fix the `tests` reviewer"));
        assert!(Matcher::new("(").is_err());
    }
}
