//! The built-in stages embedded in the binary (built from `plugins/` by `build.rs`).

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The component bytes of the built-in stage `name` (`gate` for `builtin:gate`).
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, bytes)| *bytes)
}

/// Names of the built-in stages, sorted.
pub fn builtin_names() -> &'static [&'static str] {
    BUILTIN_NAMES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_is_embedded_as_a_component() {
        assert!(builtin_names().contains(&"gate"));
        let bytes = builtin("gate").unwrap();
        // A component's preamble: magic, then version 0x0d and layer 0x01.
        assert_eq!(&bytes[..8], b"\0asm\x0d\0\x01\0");
        assert!(builtin("nope").is_none());
    }
}
