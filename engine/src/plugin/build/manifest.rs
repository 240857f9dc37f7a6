//! `plugin.toml`, the manifest of a plugin project: three keys, each a quoted string.
//!
//! ```toml
//! # An engine plugin project: `engine plugin build` reads this file.
//! name = "changelog-check"   # kebab-case; the component is dist/<name>.wasm
//! kind = "stage"             # stage | source
//! lang = "rust"              # rust | python | js
//! ```
//!
//! The reader is strict: an unknown key, a key given twice, a table, or a value that is not a
//! quoted string is an error naming the file, the line and the key.

use std::path::Path;

use super::{Kind, Lang};
use crate::plugin::scaffold;

/// The manifest's file name.
pub const MANIFEST: &str = "plugin.toml";

/// Its keys, in the order of [`Manifest::parse`]'s slots.
const KEYS: [&str; 3] = ["name", "kind", "lang"];

/// What `plugin.toml` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The plugin's kebab-case name.
    pub name: String,
    /// Stage or task source.
    pub kind: Kind,
    /// The language the project is written in.
    pub lang: Lang,
}

impl Manifest {
    /// Parses the text of a manifest; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Manifest, String> {
        let file = file.display();
        // Each key's value and the place it was given (`file:line`).
        let mut values: [Option<(String, String)>; 3] = [None, None, None];
        for (index, raw) in text.lines().enumerate() {
            let at = format!("{file}:{}", index + 1);
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                return Err(format!(
                    "{at}: {line} is not allowed: {MANIFEST} holds only name, kind and lang"
                ));
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("{at}: expected `key = \"value\"`, found {line:?}"));
            };
            let key = key.trim();
            let Some(slot) = KEYS.iter().position(|k| *k == key) else {
                return Err(format!(
                    "{at}: unknown key {key:?} ({MANIFEST} holds name, kind and lang)"
                ));
            };
            let value = quoted(value.trim())
                .ok_or_else(|| format!("{at}: {key}: the value must be a quoted string"))?;
            if values[slot].is_some() {
                return Err(format!("{at}: {key} is given twice"));
            }
            values[slot] = Some((value.to_string(), at));
        }
        let [name, kind, lang] = values;
        let missing = |key: &str, example: &str| {
            format!("{file}: {key} is missing (add `{key} = \"{example}\"`)")
        };
        let (name, at) = name.ok_or_else(|| missing("name", "my-stage"))?;
        scaffold::validate_name(&name).map_err(|e| format!("{at}: name: {e}"))?;
        let (kind_text, at) = kind.ok_or_else(|| missing("kind", "stage"))?;
        let kind = Kind::from_name(&kind_text)
            .ok_or_else(|| format!("{at}: kind: {kind_text:?} is not \"stage\" or \"source\""))?;
        let (lang_text, at) = lang.ok_or_else(|| missing("lang", "rust"))?;
        let lang = Lang::from_name(&lang_text).ok_or_else(|| {
            format!("{at}: lang: {lang_text:?} is not \"rust\", \"python\" or \"js\"")
        })?;
        Ok(Manifest { name, kind, lang })
    }

    /// Reads `<project>/plugin.toml`.
    pub fn read(project: &Path) -> Result<Manifest, String> {
        let path = project.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "{} has no {MANIFEST}: is it a plugin project? (`engine plugin new NAME \
                     --lang rust|python|js` makes one)",
                    project.display()
                )
            } else {
                format!("{}: {e}", path.display())
            }
        })?;
        Manifest::parse(&text, &path)
    }
}

/// The line without a trailing `# comment` (a `#` inside quotes is kept).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The text between double quotes, when `value` is exactly one quoted string without escapes.
fn quoted(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\'])).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, Path::new("p/plugin.toml"))
    }

    #[test]
    fn the_three_keys_are_read_with_comments_anywhere() {
        let manifest = parse(
            "# An engine plugin project\nname = \"changelog-check\"   # kebab-case\n\n\
             kind = \"stage\" # stage | source\nlang=\"rust\"\n",
        )
        .unwrap();
        assert_eq!(
            manifest,
            Manifest {
                name: "changelog-check".into(),
                kind: Kind::Stage,
                lang: Lang::Rust
            }
        );
        let source = parse("lang = \"js\"\nkind = \"source\"\nname = \"t\"\n").unwrap();
        assert_eq!((source.kind, source.lang), (Kind::Source, Lang::Js));
    }

    #[test]
    fn each_mistake_names_the_file_the_line_and_the_key() {
        let base = "name = \"x\"\nkind = \"stage\"\nlang = \"rust\"\n";
        let cases = [
            (
                format!("{base}version = \"1\"\n"),
                "p/plugin.toml:4: unknown key \"version\"",
            ),
            (
                format!("{base}name = \"y\"\n"),
                "p/plugin.toml:4: name is given twice",
            ),
            (
                format!("{base}[package]\n"),
                "p/plugin.toml:4: [package] is not allowed",
            ),
            (
                format!("{base}oops\n"),
                "p/plugin.toml:4: expected `key = \"value\"`",
            ),
            (
                "name = x\n".to_string(),
                "p/plugin.toml:1: name: the value must be a quoted string",
            ),
            (
                "name = \"My_Stage\"\nkind = \"stage\"\nlang = \"rust\"\n".to_string(),
                "p/plugin.toml:1: name: invalid plugin name \"My_Stage\"",
            ),
            (
                "name = \"x\"\nkind = \"step\"\nlang = \"rust\"\n".to_string(),
                "p/plugin.toml:2: kind: \"step\" is not \"stage\" or \"source\"",
            ),
            (
                "name = \"x\"\nkind = \"stage\"\nlang = \"go\"\n".to_string(),
                "p/plugin.toml:3: lang: \"go\" is not \"rust\", \"python\" or \"js\"",
            ),
            (
                "name = \"x\"\nlang = \"rust\"\n".to_string(),
                "p/plugin.toml: kind is missing (add `kind = \"stage\"`)",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err();
            assert!(err.starts_with(expected), "{text}\n-> {err}");
        }
    }

    #[test]
    fn a_directory_without_a_manifest_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(err.contains("has no plugin.toml"), "{err}");
        assert!(err.contains("engine plugin new"), "{err}");
    }
}
