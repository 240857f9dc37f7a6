//! CSV as RFC 4180 has it (fields quoted when they hold a comma, a quote, CR or LF; quotes
//! doubled; records ended by CRLF), made safe to open in a spreadsheet: a field starting with
//! `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so it is never read as a
//! formula (titles and ids are user text), and control characters are escaped.

/// One field: control characters other than line feeds and tabs escaped (as
/// [`crate::terminal::safe_lines`] does: a title holding `ESC [ 2 J` must not reach a terminal
/// through `cat report.csv`), neutralised and quoted as needed.
pub fn field(text: &str) -> String {
    let text = crate::terminal::safe_lines(text);
    let neutral = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if neutral.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// One record: the fields joined by commas, ended by CRLF.
pub fn record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_rfc_4180_requires() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
        assert_eq!(record(&["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn formulas_are_neutralised_before_quoting() {
        assert_eq!(
            field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tx"), "'\tx");
        // A carriage return is escaped, so what follows starts no formula.
        assert_eq!(field("\r=1"), "\\r=1");
        assert_eq!(field("a\x1b[2Jb"), "a\\x1b[2Jb");
        // Not at the start: left alone.
        assert_eq!(field("a=b"), "a=b");
    }
}
