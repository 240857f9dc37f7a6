//! The first bytes of a file: a WebAssembly module, a component, or what else it looks like.

use std::fmt;

/// The WebAssembly magic number.
const MAGIC: &[u8; 4] = b"\0asm";

/// Version and layer of a core module (version 1, layer 0).
const MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Layer 1 (the last two bytes of the preamble): a component.
const COMPONENT_LAYER: [u8; 2] = [0x01, 0x00];

/// The component binary version wasmtime reads (0x0d, the one in use since 2023).
const COMPONENT_VERSION: [u8; 2] = [0x0d, 0x00];

/// What a file that is not WebAssembly looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotWasm {
    /// No bytes at all.
    Empty,
    /// The first bytes of the WebAssembly header, then nothing.
    TruncatedHeader {
        /// How many bytes the file has.
        len: usize,
    },
    /// The WebAssembly magic number with a version this engine does not know (e.g. a component
    /// from a pre-release of the component model).
    UnknownVersion {
        /// The four bytes after the magic number, in hex.
        version: String,
    },
    /// WebAssembly text format (`(module ...`, `(component ...`), not the binary.
    WasmText,
    /// An ELF executable or library (a native Linux program).
    Elf,
    /// A Mach-O executable (a native macOS program).
    MachO,
    /// A Windows executable (PE/MZ).
    WindowsExecutable,
    /// A script (`#!` line).
    Script {
        /// The `#!` line.
        interpreter: String,
    },
    /// A compressed or archived file.
    Archive {
        /// Which kind (`a zip archive`, `gzip-compressed data`).
        what: &'static str,
    },
    /// Text.
    Text {
        /// The first line, cut to 60 characters.
        first_line: String,
    },
    /// Binary data of no kind recognised here.
    Binary {
        /// The first bytes, in hex.
        first_bytes: String,
    },
}

impl fmt::Display for NotWasm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotWasm::Empty => f.write_str("empty (0 bytes)"),
            NotWasm::TruncatedHeader { len } => write!(
                f,
                "cut off: it has {len} byte{} of the 8-byte WebAssembly header and nothing after",
                if *len == 1 { "" } else { "s" }
            ),
            NotWasm::UnknownVersion { version } => write!(
                f,
                "WebAssembly of an unknown version (header bytes {version} after the magic \
                 number; a component is 0d 00 01 00): it may come from a pre-release of the \
                 component model, or be garbled; rebuild it with current tools"
            ),
            NotWasm::WasmText => f.write_str(
                "WebAssembly text format (.wat), not the binary: build the binary component \
                 (e.g. `wasm-tools parse`)",
            ),
            NotWasm::Elf => f.write_str("an ELF file (a native Linux program or library)"),
            NotWasm::MachO => f.write_str("a Mach-O file (a native macOS program)"),
            NotWasm::WindowsExecutable => f.write_str("a Windows executable"),
            NotWasm::Script { interpreter } => write!(f, "a script (`{interpreter}`)"),
            NotWasm::Archive { what } => f.write_str(what),
            NotWasm::Text { first_line } if first_line.is_empty() => f.write_str("blank text"),
            NotWasm::Text { first_line } => write!(f, "text (it begins `{first_line}`)"),
            NotWasm::Binary { first_bytes } => {
                write!(
                    f,
                    "binary data that is not WebAssembly (it begins {first_bytes})"
                )
            }
        }
    }
}

/// What the first bytes say.
pub(super) enum Header {
    /// A core module's preamble.
    Module,
    /// A component's preamble (the version wasmtime reads).
    Component,
    /// Anything else.
    NotWasm(NotWasm),
}

/// Classifies a file by its first bytes.
pub(super) fn header(bytes: &[u8]) -> Header {
    if bytes.is_empty() {
        return Header::NotWasm(NotWasm::Empty);
    }
    let prefix_len = bytes.len().min(MAGIC.len());
    if bytes[..prefix_len] == MAGIC[..prefix_len] {
        if bytes.len() < 8 {
            return Header::NotWasm(NotWasm::TruncatedHeader { len: bytes.len() });
        }
        let preamble = &bytes[4..8];
        if preamble == MODULE_VERSION {
            return Header::Module;
        }
        if preamble[2..] == COMPONENT_LAYER && preamble[..2] == COMPONENT_VERSION {
            return Header::Component;
        }
        return Header::NotWasm(NotWasm::UnknownVersion {
            version: hex_bytes(preamble),
        });
    }
    Header::NotWasm(not_wasm(bytes))
}

/// What a file that does not start with the WebAssembly magic looks like.
fn not_wasm(bytes: &[u8]) -> NotWasm {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x7fELF") {
        return NotWasm::Elf;
    }
    if [
        &[0xfe, 0xed, 0xfa, 0xce][..],
        &[0xfe, 0xed, 0xfa, 0xcf],
        &[0xce, 0xfa, 0xed, 0xfe],
        &[0xcf, 0xfa, 0xed, 0xfe],
        &[0xca, 0xfe, 0xba, 0xbe],
    ]
    .iter()
    .any(|magic| starts(magic))
    {
        return NotWasm::MachO;
    }
    if starts(b"MZ") {
        return NotWasm::WindowsExecutable;
    }
    if starts(b"PK\x03\x04") {
        return NotWasm::Archive {
            what: "a zip archive",
        };
    }
    if starts(&[0x1f, 0x8b]) {
        return NotWasm::Archive {
            what: "gzip-compressed data",
        };
    }
    if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return NotWasm::Archive {
            what: "zstd-compressed data",
        };
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        // A multi-byte character cut at the 4096th byte is still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let Some(text) = text.filter(|t| !t.chars().any(|c| c.is_control() && !c.is_whitespace()))
    else {
        return NotWasm::Binary {
            first_bytes: hex_bytes(&bytes[..bytes.len().min(8)]),
        };
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with("(module") || trimmed.starts_with("(component") {
        return NotWasm::WasmText;
    }
    let first_line = trimmed.lines().next().unwrap_or_default();
    let first_line = shorten(first_line, 60);
    if text.starts_with("#!") {
        return NotWasm::Script {
            interpreter: first_line,
        };
    }
    NotWasm::Text { first_line }
}

/// At most `max` characters of `line`, with `...` when cut.
fn shorten(line: &str, max: usize) -> String {
    let line = line.trim_end();
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_string(),
    }
}

/// `00 61 73 6d` style hex.
fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
