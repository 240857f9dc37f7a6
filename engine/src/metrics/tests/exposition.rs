//! A strict reader of the exposition, for the tests: every line must parse.

/// One sample line: name, labels (unescaped), value.
pub(super) type Sample = (String, Vec<(String, String)>, f64);

/// Parses an `OpenMetrics` text exposition strictly (the subset the encoder writes): comments are
/// `# HELP`, `# TYPE`, `# UNIT` and a final `# EOF`; every other line is `name{k="v",...} value`.
pub(super) fn parse(text: &str) -> Vec<Sample> {
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.last(), Some(&""), "ends with a line feed");
    assert_eq!(lines[lines.len() - 2], "# EOF", "ends with # EOF");
    let mut samples = Vec::new();
    for line in &lines[..lines.len() - 2] {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                ["HELP ", "TYPE ", "UNIT "]
                    .iter()
                    .any(|k| comment.starts_with(k)),
                "comment {line:?}"
            );
            continue;
        }
        samples.push(parse_sample(line));
    }
    samples
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("a name");
    let name = &line[..name_end];
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "name in {line:?}"
    );
    let mut rest = line[name_end..].chars().peekable();
    let mut labels = Vec::new();
    if rest.peek() == Some(&'{') {
        rest.next();
        loop {
            let key: String = rest.by_ref().take_while(|c| *c != '=').collect();
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            assert_eq!(rest.next(), Some('"'), "quote in {line:?}");
            let mut value = String::new();
            loop {
                match rest.next().expect("closed value") {
                    '"' => break,
                    '\\' => value.push(match rest.next() {
                        Some('\\') => '\\',
                        Some('"') => '"',
                        Some('n') => '\n',
                        other => panic!("bad escape {other:?} in {line:?}"),
                    }),
                    c => value.push(c),
                }
            }
            labels.push((key, value));
            match rest.next() {
                Some(',') => {}
                Some('}') => break,
                other => panic!("{other:?} after a label in {line:?}"),
            }
        }
    }
    assert_eq!(rest.next(), Some(' '), "space before the value in {line:?}");
    let value: String = rest.collect();
    let value = value
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("value in {line:?}"));
    (name.to_string(), labels, value)
}

/// The value of the sample `name` with exactly these labels (in any order).
pub(super) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(k2, v2)| k == k2 && v == v2))
        })
        .map(|s| s.2)
}

pub(super) fn has(samples: &[Sample], name: &str) -> bool {
    samples.iter().any(|s| s.0 == name)
}

#[test]
fn the_reader_refuses_what_is_not_an_exposition() {
    let good = "# HELP a_b x.\n# TYPE a_b gauge\na_b{k=\"v\\\"\\n\"} 1.5\n# EOF\n";
    assert_eq!(
        parse(good),
        vec![("a_b".to_string(), vec![("k".into(), "v\"\n".into())], 1.5)]
    );
    for bad in [
        "a_b 1\n",
        "a_b 1\n# EOF\nextra\n",
        "a_b{k=\"v} 1\n# EOF\n",
        "a_b{k=\"v\"} 1\n} 2\n# EOF\n",
        "a b 1\n# EOF\n",
        "a_b{k=\"\\t\"} 1\n# EOF\n",
        "# comment\n# EOF\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "{bad:?} was read"
        );
    }
}
