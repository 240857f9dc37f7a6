//! Durations, amounts and clipped text as the supervisor writes them in details, warnings and
//! the transcript.

use std::time::Duration;

/// `20m00s`, `1h05m00s`, `5s`, `1.5s`, `300ms`.
pub(crate) fn duration_text(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 {
        format!(
            "{}h{:02}m{:02}s",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        )
    } else if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else if secs >= 1 {
        let tenths = duration.subsec_millis() / 100;
        if tenths == 0 {
            format!("{secs}s")
        } else {
            format!("{secs}.{tenths}s")
        }
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// `$1.2345`.
pub(crate) fn usd_text(amount: f64) -> String {
    format!("${amount:.4}")
}

/// `text` cut after `chars` characters, with `…` appended when it was cut.
pub(crate) fn clip_chars(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(Duration::from_mins(20)), "20m00s");
        assert_eq!(duration_text(Duration::from_mins(65)), "1h05m00s");
        assert_eq!(duration_text(Duration::from_secs(5)), "5s");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration_text(Duration::from_millis(300)), "300ms");
        assert_eq!(usd_text(1.5), "$1.5000");
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip_chars("héllo", 2), "hé…");
        assert_eq!(clip_chars("héllo", 5), "héllo");
        assert_eq!(clip_chars("", 0), "");
    }
}
