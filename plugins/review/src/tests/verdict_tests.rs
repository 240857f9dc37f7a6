use super::*;

#[test]
fn a_bare_json_verdict_is_read() {
    let v = parse_verdict(
        r#"{"verdict": "request_changes", "summary": "Off by one.",
            "findings": [{"file": "src/a.rs", "line": 12, "severity": "high", "message": "Loop skips the last item"}]}"#,
    )
    .unwrap();
    assert_eq!(v.verdict, Decision::RequestChanges);
    assert_eq!(v.summary, "Off by one.");
    assert_eq!(
        v.findings,
        vec![Finding {
            file: Some("src/a.rs".into()),
            line: Some(12),
            severity: Severity::High,
            message: "Loop skips the last item".into(),
        }]
    );
}

#[test]
fn a_fenced_block_inside_prose_is_read_and_the_last_block_wins() {
    let reply = "Here is an example of the format:\n```json\n{\"verdict\": \"request_changes\"}\n```\n\
                 After reading the code, my verdict:\n```json\n{\"verdict\": \"approve\", \"summary\": \"fine\", \"findings\": []}\n```\n";
    let v = parse_verdict(reply).unwrap();
    assert_eq!(v.verdict, Decision::Approve);
    assert_eq!(v.summary, "fine");
}

#[test]
fn the_last_json_object_in_prose_is_read_without_fences() {
    let reply = "I looked at {the loop} and the tests.\nVerdict: {\"verdict\": \"approved\", \"findings\": [{\"message\": \"nice\", \"severity\": \"nit\"}]} -- done";
    let v = parse_verdict(reply).unwrap();
    assert_eq!(v.verdict, Decision::Approve);
    assert_eq!(v.findings[0].severity, Severity::Low);
    assert_eq!(v.findings[0].file, None);
    assert_eq!(v.summary, "");
}

#[test]
fn lenient_spellings_are_accepted() {
    let v = parse_verdict(
        r#"{"verdict": "Changes-Requested", "findings": [
            {"path": "a.py", "line": "L14-16", "severity": "MAJOR", "description": "x"},
            {"file": "b.py", "line": null, "message": "no severity"},
            "a plain string finding"
        ]}"#,
    )
    .unwrap();
    assert_eq!(v.verdict, Decision::RequestChanges);
    assert_eq!(v.findings[0].file.as_deref(), Some("a.py"));
    assert_eq!(v.findings[0].line, Some(14));
    assert_eq!(v.findings[0].severity, Severity::High);
    assert_eq!(v.findings[0].message, "x");
    assert_eq!(v.findings[1].severity, Severity::Medium);
    assert_eq!(v.findings[1].line, None);
    assert_eq!(v.findings[2].message, "a plain string finding");
}

#[test]
fn malformed_replies_are_errors_never_approvals() {
    assert_eq!(parse_verdict("   "), Err(VerdictError::Empty));
    assert_eq!(
        parse_verdict("Looks good to me! LGTM."),
        Err(VerdictError::NoVerdict)
    );
    assert_eq!(
        parse_verdict("```json\n{\"summary\": \"no verdict key\"}\n```"),
        Err(VerdictError::NoVerdict)
    );
    // Truncated JSON.
    assert_eq!(
        parse_verdict("{\"verdict\": \"approve\", \"findings\": [{\"message\": \"x\""),
        Err(VerdictError::NoVerdict)
    );
    let maybe = parse_verdict("{\"verdict\": \"maybe\"}").unwrap_err();
    assert!(
        matches!(&maybe, VerdictError::Invalid(m) if m.contains("maybe")),
        "{maybe}"
    );
    let not_string = parse_verdict("{\"verdict\": true}").unwrap_err();
    assert!(matches!(not_string, VerdictError::Invalid(_)));
    let bad_severity =
        parse_verdict(r#"{"verdict": "request_changes", "findings": [{"message": "m", "severity": "apocalyptic"}]}"#)
            .unwrap_err();
    assert!(
        matches!(&bad_severity, VerdictError::Invalid(m) if m.contains("finding 1") && m.contains("apocalyptic")),
        "{bad_severity}"
    );
    let no_message =
        parse_verdict(r#"{"verdict": "request_changes", "findings": [{"file": "a"}]}"#)
            .unwrap_err();
    assert!(matches!(no_message, VerdictError::Invalid(_)));
    let findings_not_list =
        parse_verdict(r#"{"verdict": "approve", "findings": "none"}"#).unwrap_err();
    assert!(matches!(findings_not_list, VerdictError::Invalid(_)));
}

#[test]
fn a_valid_verdict_after_an_invalid_one_wins() {
    let reply = "First try: {\"verdict\": \"perhaps\"}\nCorrected:\n{\"verdict\": \"request_changes\", \"findings\": []}";
    assert_eq!(
        parse_verdict(reply).unwrap().verdict,
        Decision::RequestChanges
    );
}

#[test]
fn finding_lines_read_well() {
    let f = |file: Option<&str>, line: Option<u64>| Finding {
        file: file.map(str::to_string),
        line,
        severity: Severity::Critical,
        message: " SQL injection ".into(),
    };
    assert_eq!(
        f(Some("db.rs"), Some(3)).line_text(),
        "db.rs:3 [critical] SQL injection"
    );
    assert_eq!(
        f(Some("db.rs"), None).line_text(),
        "db.rs [critical] SQL injection"
    );
    assert_eq!(f(None, Some(3)).line_text(), "[critical] SQL injection");
}

#[test]
fn severities_order_from_the_most_serious() {
    let mut all = vec![
        Severity::Info,
        Severity::Critical,
        Severity::Low,
        Severity::High,
    ];
    all.sort();
    assert_eq!(
        all,
        [
            Severity::Critical,
            Severity::High,
            Severity::Low,
            Severity::Info
        ]
    );
    for s in Severity::ALL {
        assert_eq!(Severity::parse(s.as_str()), Some(s));
    }
}
