//! The built-in stages embedded in the binary (built from `plugins/` by `build.rs`).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The component bytes of the built-in stage `name` (`gate` for `builtin:gate`).
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, bytes)| *bytes)
}

/// The bytes of the built-in `name` and their sha256, hashed once per process: a `run --all`
/// loads the same built-ins for every task, and the digest (the key of the compiled-component
/// cache and of the host's memo) of a megabyte-sized component is not free.
pub(crate) fn builtin_with_digest(name: &str) -> Option<(&'static [u8], [u8; 32])> {
    static DIGESTS: OnceLock<Box<[OnceLock<[u8; 32]>]>> = OnceLock::new();
    let (index, (_, bytes)) = BUILTINS
        .iter()
        .enumerate()
        .find(|(_, (builtin, _))| *builtin == name)?;
    let digests = DIGESTS.get_or_init(|| BUILTINS.iter().map(|_| OnceLock::new()).collect());
    let digest = match digests.get(index) {
        Some(once) => *once.get_or_init(|| Sha256::digest(bytes).into()),
        None => Sha256::digest(bytes).into(),
    };
    Some((bytes, digest))
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

    #[test]
    fn a_builtins_digest_is_the_sha256_of_its_bytes_every_time() {
        for name in builtin_names() {
            let bytes = builtin(name).unwrap();
            let expected: [u8; 32] = Sha256::digest(bytes).into();
            for _ in 0..2 {
                let (same, digest) = builtin_with_digest(name).unwrap();
                assert_eq!(same.as_ptr(), bytes.as_ptr());
                assert_eq!(digest, expected, "{name}");
            }
        }
        assert!(builtin_with_digest("nope").is_none());
    }
}
