//! The files this engine carries for plugin projects, embedded at build time by
//! `engine/build.rs`: the templates, the WIT, the SDKs of each language, and the plugins
//! workspace's `Cargo.toml` and `Cargo.lock`.

include!(concat!(env!("OUT_DIR"), "/plugin_files.rs"));

/// One embedded file below a directory: its path relative to that directory, and its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// The path below the directory asked for, `/`-separated (`src/lib.rs`).
    pub(crate) path: &'static str,
    /// The file's content.
    pub(crate) bytes: &'static [u8],
}

/// Every embedded file below the logical directory `dir` (`templates/rust/stage`), sorted by
/// path; empty when the engine carries no such directory.
pub(crate) fn tree(dir: &str) -> Vec<Entry> {
    tree_in(FILES, dir)
}

/// The embedded file at the logical path `path` (`plugins/Cargo.toml`).
pub(crate) fn file(path: &str) -> Option<&'static [u8]> {
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

/// [`tree`] over a given table.
pub(crate) fn tree_in(files: &'static [(&'static str, &'static [u8])], dir: &str) -> Vec<Entry> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    files
        .iter()
        .filter_map(|(name, bytes)| {
            name.strip_prefix(prefix.as_str())
                .map(|path| Entry { path, bytes })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_carries_its_wit_and_the_rust_sdks() {
        let wit: Vec<&str> = tree("wit").iter().map(|e| e.path).collect();
        assert!(
            wit.contains(&"stage.wit") && wit.contains(&"source.wit"),
            "{wit:?}"
        );
        let sdk: Vec<&str> = tree("sdk/rust/sdk").iter().map(|e| e.path).collect();
        assert!(
            sdk.contains(&"Cargo.toml") && sdk.contains(&"src/lib.rs"),
            "{sdk:?}"
        );
        assert!(file("plugins/Cargo.toml").is_some());
        assert!(file("plugins/Cargo.lock").is_some());
    }

    #[test]
    fn a_tree_is_what_lies_below_its_directory_only() {
        static TABLE: &[(&str, &[u8])] = &[
            ("templates/rust/stage/Cargo.toml", b"a"),
            ("templates/rust/stage/src/lib.rs", b"b"),
            ("templates/rust/stages/x", b"c"),
        ];
        let paths: Vec<&str> = tree_in(TABLE, "templates/rust/stage")
            .iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["Cargo.toml", "src/lib.rs"]);
        assert!(tree_in(TABLE, "templates/python/stage").is_empty());
    }
}
