//! Reading a notifier's config without ever quoting its values (URLs, tokens and headers are
//! secrets).

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::redact;

/// Deserializes a stage's `with:` value (`null` reads as `{}`). serde's message names fields
/// and types; every string of the config (six characters or longer: shorter ones are enum
/// values and the like) is redacted from it, so a value in the wrong place is never quoted.
/// `stage` names the stage in the message (`invalid webhook config: ...`).
pub fn parse_config<T: DeserializeOwned>(stage: &str, config: &Value) -> Result<T, String> {
    let config = if config.is_null() {
        json!({})
    } else {
        config.clone()
    };
    serde_json::from_value::<T>(config.clone()).map_err(|e| {
        let mut strings = Vec::new();
        collect_strings(&config, &mut strings);
        let secrets: Vec<&str> = strings
            .iter()
            .map(String::as_str)
            .filter(|s| s.len() >= 6)
            .collect();
        format!(
            "invalid {stage} config: {}",
            redact(&e.to_string(), &secrets)
        )
    })
}

fn collect_strings(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Demo {
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    }

    #[test]
    fn errors_never_quote_config_strings() {
        let err = parse_config::<Demo>(
            "demo",
            &json!({"url": "https://h/SECRET", "headers": "Bearer SECRET"}),
        )
        .unwrap_err();
        assert!(err.starts_with("invalid demo config: "), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
        assert!(
            parse_config::<Demo>("demo", &Value::Null)
                .unwrap_err()
                .contains("url")
        );
    }
}
