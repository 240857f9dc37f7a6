//! Which of a component's imports the host's linker provides, asked of the linker itself, so
//! no hand-kept list of what the host provides can drift from it.
//!
//! The linker's public API cannot list its names, and an instance that is missing altogether
//! type-checks like one that lacks the items an import needs. So each name is probed with a
//! tiny component importing a *function* of that name: the linker then either finds an
//! instance there ("expected function found instance": the host has an interface of that
//! name, by wasmtime's own semver lookup) or nothing ("function implementation is missing").
//! A test pins this on real names both ways, so a wasmtime upgrade that rewords it fails the
//! test rather than the product. A probe compiles in well under a millisecond (it has no
//! code), and probes run only after a plugin failed to load.

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::{Import, ImportKind};

/// The names of `imports` that `linker` does not provide. A type import equal to one of the
/// component's own types needs nothing; any other import that is not an interface (a bare
/// function, a fresh resource) is never provided: this host provides interfaces only.
pub(crate) fn unprovided_imports<T: 'static>(
    engine: &Engine,
    linker: &Linker<T>,
    imports: &[Import],
) -> Vec<String> {
    imports
        .iter()
        .filter(|import| !provided(engine, linker, import))
        .map(|import| import.name.clone())
        .collect()
}

fn provided<T: 'static>(engine: &Engine, linker: &Linker<T>, import: &Import) -> bool {
    match import.kind {
        ImportKind::Type => return true,
        ImportKind::Other => return false,
        ImportKind::Instance => {}
    }
    let Ok(component) = Component::new(engine, probe(&import.name)) else {
        // A name the component model rejects cannot come from a valid component: say nothing
        // rather than accuse the host.
        return true;
    };
    match linker.instantiate_pre(&component) {
        // The host defines no function at the top level; were there one, it is provided.
        Ok(_) => true,
        Err(error) => error
            .chain()
            .any(|cause| cause.to_string().contains("found instance")),
    }
}

/// The binary of `(component (type (func)) (import "NAME" (func (type 0))))`.
pub(super) fn probe(name: &str) -> Vec<u8> {
    // Preamble: magic, version 0x0d, layer 1.
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    // Type section (7): one type, a function (0x40) without parameters (0x00) or results
    // (0x01 0x00).
    section(&mut bytes, 7, &[0x01, 0x40, 0x00, 0x01, 0x00]);
    // Import section (10): one import, a plain name (0x00), a function of type 0 (0x01 0x00).
    let mut import = vec![0x01, 0x00];
    leb128(&mut import, name.len());
    import.extend_from_slice(name.as_bytes());
    import.extend_from_slice(&[0x01, 0x00]);
    section(&mut bytes, 10, &import);
    bytes
}

fn section(bytes: &mut Vec<u8>, id: u8, content: &[u8]) {
    bytes.push(id);
    leb128(bytes, content.len());
    bytes.extend_from_slice(content);
}

/// Unsigned LEB128, as the binary format writes lengths.
fn leb128(bytes: &mut Vec<u8>, mut value: usize) {
    loop {
        let low = u8::try_from(value & 0x7f).unwrap_or(0);
        value >>= 7;
        if value == 0 {
            bytes.push(low);
            return;
        }
        bytes.push(low | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_leb128() {
        let mut out = Vec::new();
        leb128(&mut out, 5);
        leb128(&mut out, 300);
        assert_eq!(out, [5, 0xac, 0x02]);
    }

    #[test]
    fn a_probe_is_a_component_importing_one_function() {
        let inspection = super::super::inspect(&probe("wasi:io/streams@0.2.6"));
        assert_eq!(inspection.kind, super::super::FileKind::OtherComponent);
        assert_eq!(
            inspection.imports,
            [Import {
                name: "wasi:io/streams@0.2.6".into(),
                kind: ImportKind::Other
            }]
        );
        Component::new(&Engine::default(), probe("wasi:io/streams@0.2.6")).unwrap();
    }
}
