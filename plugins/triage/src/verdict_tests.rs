use super::*;

fn run(tier: Tier) -> Decision {
    Decision::Run(tier)
}

#[test]
fn a_fenced_json_block_is_read() {
    let text = "I looked at src/export.rs.\n\n```json\n{\"decision\": \"run\", \"tier\": \"smart\", \"reason\": \"two files\"}\n```\n";
    let v = parse(text).unwrap();
    assert_eq!(v.decision, run(Tier::Smart));
    assert_eq!(v.reason, "two files");
}

#[test]
fn the_last_fenced_verdict_wins_over_earlier_ones_and_over_bare_json() {
    let text = "Example: {\"decision\": \"too_vague\"}\n```\n{\"decision\": \"run\", \"tier\": \"primitive\"}\n```\n\
                Then a plain block:\n```rust\nfn main() { }\n```\n";
    assert_eq!(parse(text).unwrap().decision, run(Tier::Primitive));
}

#[test]
fn the_last_bare_object_is_read_without_fences() {
    let text = "First thought {\"decision\": \"run\", \"tier\": \"genius\"} but no:\n\
                {\"decision\": \"already-done\", \"reason\": \"`--json` exists in src/cli.rs\"} done.";
    let v = parse(text).unwrap();
    assert_eq!(v.decision, Decision::Stop(StopKind::AlreadyDone));
    assert_eq!(v.reason, "`--json` exists in src/cli.rs");
}

#[test]
fn values_are_read_loosely() {
    let v = parse("{\"decision\": \"Too Vague\", \"reason\": null}").unwrap();
    assert_eq!(v.decision, Decision::Stop(StopKind::TooVague));
    assert_eq!(v.reason, "");
    let v = parse("{\"decision\": \"RUN\", \"tier\": \" Genius \", \"reason\": \"x\"}").unwrap();
    assert_eq!(v.decision, run(Tier::Genius));
    // Nested objects do not confuse the scan.
    let v = parse("{\"decision\": \"run\", \"tier\": \"smart\", \"extra\": {\"a\": {\"b\": 1}}}")
        .unwrap();
    assert_eq!(v.decision, run(Tier::Smart));
}

#[test]
fn what_is_not_a_verdict_says_why() {
    assert_eq!(
        parse("I think it should run on smart."),
        Err(VerdictError::NoJson)
    );
    assert_eq!(
        parse("{\"tier\": \"smart\"}"),
        Err(VerdictError::NoDecision)
    );
    assert_eq!(
        parse("{\"decision\": \"maybe\"}"),
        Err(VerdictError::UnknownDecision("maybe".into()))
    );
    assert_eq!(
        parse("{\"decision\": \"run\"}"),
        Err(VerdictError::MissingTier)
    );
    assert_eq!(
        parse("{\"decision\": \"run\", \"tier\": \"opus\"}"),
        Err(VerdictError::UnknownTier("opus".into()))
    );
    assert_eq!(
        parse("```json\n{\"decision\": \"run\",\n```"),
        Err(VerdictError::NoJson)
    );
}

#[test]
fn a_huge_reply_is_scanned_from_its_end() {
    let text = format!(
        "{}\n{{\"decision\": \"run\", \"tier\": \"smart\"}}",
        "{ not json ".repeat(20_000)
    );
    assert_eq!(parse(&text).unwrap().decision, run(Tier::Smart));
}

#[test]
fn a_huge_reply_is_cut_at_a_character_boundary() {
    // Two-byte characters before the verdict: one of the two paddings puts the cut inside one.
    for padding in ["", " "] {
        let text = format!(
            "{}\n{{\"decision\": \"run\", \"tier\": \"smart\"}}{padding}",
            "é".repeat(40_000)
        );
        assert_eq!(parse(&text).unwrap().decision, run(Tier::Smart));
    }
}
