//! A minimal POSIX ustar writer: regular files only, in memory, with fixed owner and mode, so a
//! bug report opens with any `tar`. (No tar crate is in the dependency tree; a report holds a
//! handful of small text files, which this covers whole.)

use thiserror::Error;

/// Size of a tar block.
const BLOCK: usize = 512;

/// A file name a ustar header cannot hold.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("cannot store {name:?} in the archive: {why}")]
pub struct TarError {
    /// The name.
    pub name: String,
    /// Why.
    pub why: &'static str,
}

/// An archive being written in memory.
#[derive(Debug, Default)]
pub struct TarBuilder {
    bytes: Vec<u8>,
    mtime: u64,
}

impl TarBuilder {
    /// An empty archive whose files are stamped `mtime` (seconds since the Unix epoch).
    pub fn new(mtime: u64) -> Self {
        TarBuilder {
            bytes: Vec::new(),
            mtime,
        }
    }

    /// Appends a regular file `name` (relative, `/`-separated, at most 100 bytes, no `..`)
    /// holding `data`, mode 0644.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Result<(), TarError> {
        let refuse = |why| TarError {
            name: name.to_string(),
            why,
        };
        if name.is_empty() || name.len() > 100 {
            return Err(refuse("a name is 1 to 100 bytes"));
        }
        if name.starts_with('/') || name.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(refuse(
                "a name is a relative path without `..` or empty parts",
            ));
        }
        if name.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(refuse("a name holds no control characters"));
        }
        let mut header = [0u8; BLOCK];
        header[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut header[100..108], 0o644);
        octal(&mut header[108..116], 0);
        octal(&mut header[116..124], 0);
        octal(&mut header[124..136], data.len() as u64);
        octal(&mut header[136..148], self.mtime);
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        // The checksum is computed with its own field as spaces.
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
        octal(&mut header[148..155], sum);
        header[155] = b' ';
        self.bytes.extend_from_slice(&header);
        self.bytes.extend_from_slice(data);
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        self.bytes.resize(self.bytes.len() + pad, 0);
        Ok(())
    }

    /// The archive: its files then the two zero blocks that end it.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.resize(self.bytes.len() + 2 * BLOCK, 0);
        self.bytes
    }
}

/// Writes `value` in octal, zero-padded, NUL-terminated, into `field`.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = &text.as_bytes()[text.len().saturating_sub(width)..];
    field[..width].copy_from_slice(text);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_is_blocks_with_a_valid_header() {
        let mut tar = TarBuilder::new(1_700_000_000);
        tar.add("a/b.txt", b"hello").unwrap();
        tar.add("c.txt", &[b'x'; 512]).unwrap();
        let bytes = tar.finish();
        assert_eq!(bytes.len(), 512 + 512 + 512 + 512 + 1024);
        assert_eq!(&bytes[..7], b"a/b.txt");
        assert_eq!(&bytes[124..136], b"00000000005\0");
        assert_eq!(&bytes[257..262], b"ustar");
        let stored: u64 =
            u64::from_str_radix(std::str::from_utf8(&bytes[148..154]).unwrap().trim(), 8).unwrap();
        let mut header = bytes[..512].to_vec();
        header[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, header.iter().map(|b| u64::from(*b)).sum::<u64>());
        assert_eq!(&bytes[512..517], b"hello");
        assert!(bytes[517..1024].iter().all(|b| *b == 0));
    }

    #[test]
    fn names_that_escape_or_do_not_fit_are_refused() {
        let mut tar = TarBuilder::new(0);
        for bad in ["", "/etc/passwd", "../x", "a//b", "a\nb", &"x".repeat(101)] {
            assert!(tar.add(bad, b"").is_err(), "{bad:?}");
        }
        assert!(tar.finish().iter().all(|b| *b == 0));
    }
}
