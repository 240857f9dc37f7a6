//! The messages between the engine and the resident server of an attempt's sandbox (see
//! [`crate::Resident`]): pure encoding and decoding, no I/O.
//!
//! Over one Unix stream socket:
//! - the server first sends [`HELLO`] (8 bytes), which also tells the engine the binary inside
//!   speaks this version;
//! - per command the engine sends one request: a little-endian `u32` length, then the body
//!   (program, working directory, arguments, environment, each a length-prefixed byte string),
//!   with the command's stdout and stderr pipes attached to the first bytes (`SCM_RIGHTS`);
//! - the server answers with one 8-byte [`Reply`] once the command and everything it started
//!   have ended.
//!
//! Byte strings, not UTF-8: paths and arguments are passed as the host has them.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What the server sends first: a magic that names the protocol's version.
pub(crate) const HELLO: [u8; 8] = *b"engres01";

/// Largest request body accepted (Linux itself caps arguments and environment far lower).
pub(crate) const MAX_REQUEST: usize = 16 << 20;

/// One command for the server to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireRequest {
    /// The executable's host path (resolved by the engine).
    pub(crate) program: PathBuf,
    /// The working directory's host path.
    pub(crate) cwd: PathBuf,
    /// Arguments after the program.
    pub(crate) args: Vec<OsString>,
    /// The complete environment: the command gets exactly this.
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// How a command ended, as the server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signaled(i32),
    /// It could not be started; the `errno`.
    NotStarted(i32),
}

const TAG_EXITED: u32 = 1;
const TAG_SIGNALED: u32 = 2;
const TAG_NOT_STARTED: u32 = 3;

/// Why bytes from the other side were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A length runs past the end of the message or past [`MAX_REQUEST`].
    #[error("a length runs past the end of the message")]
    Truncated,
    /// Bytes were left after the last field.
    #[error("{0} unexpected bytes after the last field")]
    Trailing(usize),
    /// A string holds a NUL byte (it could not be passed to `execve`).
    #[error("a field holds a NUL byte")]
    Nul,
    /// The reply's tag is unknown.
    #[error("unknown reply tag {0}")]
    UnknownTag(u32),
    /// The message is too large.
    #[error("message of {0} bytes is larger than the limit")]
    TooLarge(usize),
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), WireError> {
    let len = u32::try_from(bytes.len()).map_err(|_| WireError::TooLarge(bytes.len()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_count(out: &mut Vec<u8>, count: usize) -> Result<(), WireError> {
    let count = u32::try_from(count).map_err(|_| WireError::TooLarge(count))?;
    out.extend_from_slice(&count.to_le_bytes());
    Ok(())
}

/// The whole request frame: length prefix and body.
pub(crate) fn encode_request(request: &WireRequest) -> Result<Vec<u8>, WireError> {
    let mut body = vec![0u8; 4];
    put(&mut body, request.program.as_os_str().as_bytes())?;
    put(&mut body, request.cwd.as_os_str().as_bytes())?;
    put_count(&mut body, request.args.len())?;
    for arg in &request.args {
        put(&mut body, arg.as_bytes())?;
    }
    put_count(&mut body, request.env.len())?;
    for (key, value) in &request.env {
        put(&mut body, key.as_bytes())?;
        put(&mut body, value.as_bytes())?;
    }
    let len = body.len() - 4;
    if len > MAX_REQUEST {
        return Err(WireError::TooLarge(len));
    }
    let len = u32::try_from(len).map_err(|_| WireError::TooLarge(len))?;
    body[..4].copy_from_slice(&len.to_le_bytes());
    Ok(body)
}

/// The body length a frame header announces, checked against [`MAX_REQUEST`].
pub(crate) fn request_len(header: [u8; 4]) -> Result<usize, WireError> {
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_REQUEST {
        return Err(WireError::TooLarge(len));
    }
    Ok(len)
}

/// Reads fields off a body, front to back.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn u32(&mut self) -> Result<u32, WireError> {
        let (head, rest) = self.rest.split_at_checked(4).ok_or(WireError::Truncated)?;
        self.rest = rest;
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(head);
        Ok(u32::from_le_bytes(bytes))
    }

    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()? as usize;
        let (head, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(WireError::Truncated)?;
        self.rest = rest;
        if head.contains(&0) {
            return Err(WireError::Nul);
        }
        Ok(head)
    }

    fn os(&mut self) -> Result<OsString, WireError> {
        Ok(OsStr::from_bytes(self.bytes()?).to_os_string())
    }
}

/// Decodes a request body (without its length prefix).
pub(crate) fn decode_request(body: &[u8]) -> Result<WireRequest, WireError> {
    let mut cursor = Cursor { rest: body };
    let program = PathBuf::from(cursor.os()?);
    let cwd = PathBuf::from(cursor.os()?);
    let argc = cursor.u32()? as usize;
    // Each field takes at least its 4-byte length: a count larger than that is a lie.
    if argc > cursor.rest.len() / 4 {
        return Err(WireError::Truncated);
    }
    let args = (0..argc)
        .map(|_| cursor.os())
        .collect::<Result<Vec<_>, _>>()?;
    let envc = cursor.u32()? as usize;
    if envc > cursor.rest.len() / 8 {
        return Err(WireError::Truncated);
    }
    let env = (0..envc)
        .map(|_| Ok((cursor.os()?, cursor.os()?)))
        .collect::<Result<Vec<_>, WireError>>()?;
    if !cursor.rest.is_empty() {
        return Err(WireError::Trailing(cursor.rest.len()));
    }
    Ok(WireRequest {
        program,
        cwd,
        args,
        env,
    })
}

impl Reply {
    /// The 8-byte reply frame.
    pub(crate) fn encode(self) -> [u8; 8] {
        let (tag, value) = match self {
            Reply::Exited(code) => (TAG_EXITED, code),
            Reply::Signaled(signal) => (TAG_SIGNALED, signal),
            Reply::NotStarted(errno) => (TAG_NOT_STARTED, errno),
        };
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&tag.to_le_bytes());
        out[4..].copy_from_slice(&value.to_le_bytes());
        out
    }

    /// Decodes a reply frame.
    pub(crate) fn decode(frame: [u8; 8]) -> Result<Reply, WireError> {
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&frame[..4]);
        let mut value = [0u8; 4];
        value.copy_from_slice(&frame[4..]);
        let value = i32::from_le_bytes(value);
        match u32::from_le_bytes(tag) {
            TAG_EXITED => Ok(Reply::Exited(value)),
            TAG_SIGNALED => Ok(Reply::Signaled(value)),
            TAG_NOT_STARTED => Ok(Reply::NotStarted(value)),
            other => Err(WireError::UnknownTag(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    fn request() -> WireRequest {
        WireRequest {
            program: "/bin/sh".into(),
            cwd: "/work/wt".into(),
            args: vec!["-c".into(), OsString::from_vec(b"echo \xff".to_vec())],
            env: vec![
                ("PATH".into(), "/usr/bin".into()),
                ("EMPTY".into(), "".into()),
            ],
        }
    }

    #[test]
    fn a_request_round_trips_non_utf8_bytes_included() {
        let frame = encode_request(&request()).unwrap();
        let mut header = [0u8; 4];
        header.copy_from_slice(&frame[..4]);
        assert_eq!(request_len(header).unwrap(), frame.len() - 4);
        assert_eq!(decode_request(&frame[4..]).unwrap(), request());
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_refused() {
        let frame = encode_request(&request()).unwrap();
        let body = &frame[4..];
        for cut in 0..body.len() {
            assert!(decode_request(&body[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = body.to_vec();
        longer.push(0);
        assert_eq!(decode_request(&longer), Err(WireError::Trailing(1)));
    }

    #[test]
    fn nul_bytes_and_lying_counts_are_refused() {
        let mut nul = request();
        nul.args.push("a\0b".into());
        let frame = encode_request(&nul).unwrap();
        assert_eq!(decode_request(&frame[4..]), Err(WireError::Nul));
        // program "", cwd "", then a huge argument count with nothing behind it.
        let mut body = vec![0u8; 8];
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_request(&body), Err(WireError::Truncated));
        assert!(request_len(u32::MAX.to_le_bytes()).is_err());
    }

    #[test]
    fn replies_round_trip_and_unknown_tags_are_refused() {
        for reply in [Reply::Exited(3), Reply::Signaled(15), Reply::NotStarted(2)] {
            assert_eq!(Reply::decode(reply.encode()), Ok(reply));
        }
        let mut bad = Reply::Exited(0).encode();
        bad[0] = 9;
        assert_eq!(Reply::decode(bad), Err(WireError::UnknownTag(9)));
    }
}
