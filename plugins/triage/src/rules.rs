//! Mode `rules`: "do not run" labels, vagueness, then votes from labels, size, keywords and
//! file hints. Labels decide when one matches; otherwise the highest vote wins; without any
//! vote the default tier applies.

use std::fmt::Write as _;

use crate::assessment::{Assessment, StopKind};
use crate::config::TriageConfig;
use crate::files::FileHints;
use crate::text::{TextSize, contains_phrase, task_text, words};
use crate::tier::Tier;

/// What the rules look at in a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    /// Title and body as one text.
    pub text: String,
    /// Its size.
    pub size: TextSize,
    /// Its lowercase words.
    pub words: Vec<String>,
    /// The files it names.
    pub files: FileHints,
}

impl TaskFacts {
    /// Gathers the facts of a task; `exists` checks a path in the worktree when it is mounted.
    pub fn gather(title: &str, body: &str, exists: Option<&dyn Fn(&str) -> bool>) -> TaskFacts {
        let text = task_text(title, body);
        TaskFacts {
            size: TextSize::of(&text),
            words: words(&text),
            files: FileHints::find(&text, exists),
            text,
        }
    }
}

/// One rule's vote for a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Vote {
    tier: Tier,
    /// For the `signals` output, e.g. `keyword:typo -> primitive`.
    signal: String,
    /// For the reason, e.g. ``keyword `typo` ``.
    why: String,
}

impl Vote {
    fn new(tier: Tier, mut signal: String, why: String) -> Vote {
        let _ = write!(signal, " -> {tier}");
        Vote { tier, signal, why }
    }
}

/// The "do not run" label the task carries, if any: the task stops.
pub fn skip_label(config: &TriageConfig, labels: &[String]) -> Option<Assessment> {
    let label = labels.iter().find(|l| config.is_skip_label(l))?;
    Some(Assessment::stop(
        StopKind::SkipLabel,
        format!(
            "the task is labelled `{}`, which means it should not run",
            label.trim()
        ),
        vec![format!("skip_label:{}", label.trim())],
    ))
}

/// Whether the task is too vague to run, by the `vague:` rule.
pub fn vagueness(config: &TriageConfig, facts: &TaskFacts) -> Option<Assessment> {
    let rule = &config.vague;
    if !rule.enabled {
        return None;
    }
    if facts.size.chars == 0 {
        return Some(Assessment::stop(
            StopKind::TooVague,
            "the task has no text: say what should change and where",
            vec!["vague:empty".to_string()],
        ));
    }
    if facts.size.chars >= rule.max_chars || !facts.files.mentioned.is_empty() {
        return None;
    }
    if rule.verbs.iter().any(|v| contains_phrase(&facts.words, v)) {
        return None;
    }
    let excerpt: String = facts.text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(Assessment::stop(
        StopKind::TooVague,
        format!(
            "the task is too vague: {excerpt:?} ({} chars) names no file and no action \
             (such as add, fix or remove); say what should change and where",
            facts.size.chars
        ),
        vec![format!(
            "vague:{} chars < {}, no file, no verb",
            facts.size.chars, rule.max_chars
        )],
    ))
}

/// Runs the rules on a task with `labels` and `facts`.
pub fn evaluate(config: &TriageConfig, labels: &[String], facts: &TaskFacts) -> Assessment {
    if let Some(stop) = skip_label(config, labels) {
        return stop;
    }
    if let Some(stop) = vagueness(config, facts) {
        return stop;
    }
    let label_votes = label_votes(config, labels);
    let mut votes = size_votes(config, facts.size);
    votes.extend(keyword_votes(config, &facts.words));
    let (file_votes, file_note) = file_votes(config, &facts.files);
    votes.extend(file_votes);

    let mut signals: Vec<String> = label_votes
        .iter()
        .chain(&votes)
        .map(|v| v.signal.clone())
        .collect();
    signals.extend(file_note);

    let deciding = if label_votes.is_empty() {
        &votes
    } else {
        &label_votes
    };
    let Some(tier) = deciding.iter().map(|v| v.tier).max() else {
        let tier = config.default_tier;
        signals.push(format!("default -> {tier}"));
        return Assessment::run(tier, "no rule matched: the default tier", signals);
    };
    let whys: Vec<&str> = deciding
        .iter()
        .filter(|v| v.tier == tier)
        .map(|v| v.why.as_str())
        .collect();
    let mut reason = whys.join("; ");
    if !label_votes.is_empty() && votes.iter().any(|v| v.tier != tier) {
        reason.push_str(" (labels decide before size, keywords and files)");
    }
    Assessment::run(tier, reason, signals)
}

fn label_votes(config: &TriageConfig, labels: &[String]) -> Vec<Vote> {
    labels
        .iter()
        .filter_map(|label| {
            let tier = config.label_tier(label)?;
            let label = label.trim();
            Some(Vote::new(
                tier,
                format!("label:{label}"),
                format!("label `{label}`"),
            ))
        })
        .collect()
}

fn size_votes(config: &TriageConfig, size: TextSize) -> Vec<Vote> {
    let rule = &config.size;
    if size.chars >= rule.large_chars || size.lines >= rule.large_lines {
        vec![Vote::new(
            Tier::Genius,
            format!("size:large ({})", size.describe()),
            format!("a large task ({})", size.describe()),
        )]
    } else if size.chars <= rule.small_chars && size.lines <= rule.small_lines {
        vec![Vote::new(
            Tier::Primitive,
            format!("size:small ({})", size.describe()),
            format!("a small task ({})", size.describe()),
        )]
    } else {
        Vec::new()
    }
}

fn keyword_votes(config: &TriageConfig, words: &[String]) -> Vec<Vote> {
    let mut votes = Vec::new();
    for (tier, keywords) in config.keywords.by_tier() {
        let mut seen: Vec<String> = Vec::new();
        for keyword in keywords {
            let normal = keyword.trim().to_lowercase();
            if !seen.contains(&normal) && contains_phrase(words, keyword) {
                votes.push(Vote::new(
                    tier,
                    format!("keyword:{normal}"),
                    format!("keyword `{normal}`"),
                ));
                seen.push(normal);
            }
        }
    }
    votes
}

/// Votes from the number of named files that exist, and a note when they were not checked.
fn file_votes(config: &TriageConfig, files: &FileHints) -> (Vec<Vote>, Option<String>) {
    let named = files.mentioned.len();
    let Some(existing) = files.existing else {
        let note = (named > 0)
            .then(|| format!("files:{named} named, not checked (workspace not mounted)"));
        return (Vec::new(), note);
    };
    let rule = &config.files;
    let tier = if existing >= rule.genius {
        Tier::Genius
    } else if existing >= rule.smart {
        Tier::Smart
    } else {
        let note = (named > 0).then(|| format!("files:{existing} of {named} named exist"));
        return (Vec::new(), note);
    };
    let vote = Vote::new(
        tier,
        format!("files:{existing} of {named} named exist"),
        format!("{existing} of the files it names exist"),
    );
    (vec![vote], None)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
