//! Native-messaging framing: a `u32` length in native byte order, then that
//! many bytes of UTF-8 JSON.
//!
//! The same framing carries every hop (browser ⇄ host on stdio, host and CLI
//! ⇄ daemon on the local socket), so there is one reader and one writer here,
//! blocking (the host and the CLI have no async runtime on their hot paths).
//! The daemon's async twins (`logto_companion::codec`) reuse
//! [`checked_len`] and [`length_prefix`], so both read the same bytes.
//!
//! The length is checked against the cap *before* the body buffer is
//! allocated: a hostile or broken peer announcing 4 GiB costs us nothing.

use std::fmt;
use std::io::{self, Read, Write};

/// Chrome closes the port when a host sends a message above this size.
pub const MAX_OUTBOUND: usize = 1_048_576;

/// Default cap for frames we accept. Our requests are small; 1 MiB leaves
/// ample room and bounds what a peer can make us allocate.
pub const DEFAULT_MAX_INBOUND: usize = 1_048_576;

/// Why a frame could not be read or written.
#[derive(Debug)]
pub enum FrameError {
    /// The length prefix announces more than the cap. The body was not read.
    TooLarge {
        len: u64,
        cap: usize,
    },
    /// The stream ended inside a length prefix or a body.
    Truncated,
    Io(io::Error),
}

// Written out rather than derived: this crate depends on serde only, so
// the thin binary links nothing it does not need.
impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len, cap } => {
                write!(f, "frame of {len} bytes exceeds the limit of {cap} bytes")
            }
            FrameError::Truncated => f.write_str("stream ended in the middle of a frame"),
            FrameError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(e) => e.source(),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> FrameError {
        FrameError::Io(e)
    }
}

/// Checks an announced length against the cap before anything is allocated.
pub fn checked_len(prefix: [u8; 4], cap: usize) -> Result<usize, FrameError> {
    let len = u32::from_ne_bytes(prefix);
    let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
    if len_usize > cap {
        return Err(FrameError::TooLarge {
            len: u64::from(len),
            cap,
        });
    }
    Ok(len_usize)
}

/// The length prefix for `body`, refusing bodies above `cap`.
pub fn length_prefix(body: &[u8], cap: usize) -> Result<[u8; 4], FrameError> {
    if body.len() > cap {
        return Err(FrameError::TooLarge {
            len: body.len() as u64,
            cap,
        });
    }
    // `cap` never exceeds u32::MAX in practice; the check above plus this
    // conversion keep a silent truncation impossible.
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge {
        len: body.len() as u64,
        cap,
    })?;
    Ok(len.to_ne_bytes())
}

/// Reads one frame. `Ok(None)` is a clean end of stream between frames.
pub fn read_frame<R: Read>(reader: &mut R, cap: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        match reader.read(&mut prefix[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = checked_len(prefix, cap)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    Ok(Some(body))
}

/// Writes one frame and flushes it, refusing bodies above `cap`.
pub fn write_frame<W: Write>(writer: &mut W, body: &[u8], cap: usize) -> Result<(), FrameError> {
    let prefix = length_prefix(body, cap)?;
    // One write for small frames keeps the relay at one syscall per message.
    if body.len() <= 4096 {
        let mut buf = Vec::with_capacity(4 + body.len());
        buf.extend_from_slice(&prefix);
        buf.extend_from_slice(body);
        writer.write_all(&buf)?;
    } else {
        writer.write_all(&prefix)?;
        writer.write_all(body)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, body, usize::MAX).unwrap();
        out
    }

    #[test]
    fn eof_between_frames_is_a_clean_end() {
        let mut r = Cursor::new(framed(b"{}"));
        assert_eq!(read_frame(&mut r, 64).unwrap().unwrap(), b"{}");
        assert!(read_frame(&mut r, 64).unwrap().is_none());
    }

    #[test]
    fn eof_inside_the_prefix_is_truncated() {
        let mut r = Cursor::new(vec![2u8, 0]);
        assert!(matches!(read_frame(&mut r, 64), Err(FrameError::Truncated)));
    }

    #[test]
    fn eof_inside_the_body_is_truncated() {
        let mut bytes = framed(b"{\"a\":1}");
        bytes.truncate(bytes.len() - 2);
        assert!(matches!(
            read_frame(&mut Cursor::new(bytes), 64),
            Err(FrameError::Truncated)
        ));
    }

    #[test]
    fn huge_length_is_refused_before_reading_the_body() {
        let mut r = Cursor::new(vec![0xFF, 0xFF, 0xFF, 0xFF, b'x']);
        match read_frame(&mut r, DEFAULT_MAX_INBOUND) {
            Err(FrameError::TooLarge { len, .. }) => assert_eq!(len, 0xFFFF_FFFF),
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // Only the prefix was consumed.
        assert_eq!(r.position(), 4);
    }

    #[test]
    fn outbound_above_chrome_limit_is_refused() {
        let body = vec![b' '; MAX_OUTBOUND + 1];
        let mut out = Vec::new();
        assert!(matches!(
            write_frame(&mut out, &body, MAX_OUTBOUND),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(out.is_empty(), "nothing may be written for a refused frame");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40_000)
        ))]

        /// Arbitrary bytes never panic the reader, and nothing larger than the
        /// cap is ever returned (so nothing larger was allocated for a body).
        #[test]
        fn arbitrary_streams_never_panic_and_respect_the_cap(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            cap in 0usize..128,
        ) {
            let mut r = Cursor::new(bytes);
            loop {
                match read_frame(&mut r, cap) {
                    Ok(Some(body)) => prop_assert!(body.len() <= cap),
                    Ok(None) => break,
                    Err(FrameError::TooLarge { len, .. }) => {
                        prop_assert!(len > cap as u64);
                        break;
                    }
                    Err(FrameError::Truncated) => break,
                    Err(FrameError::Io(e)) => prop_assert!(false, "io error on a cursor: {e}"),
                }
            }
        }

        /// Any sequence of frames under the cap round-trips exactly.
        #[test]
        fn valid_frames_round_trip(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
        ) {
            let mut stream = Vec::new();
            for b in &bodies {
                write_frame(&mut stream, b, 300).unwrap();
            }
            let mut r = Cursor::new(stream);
            for b in &bodies {
                let got = read_frame(&mut r, 300).unwrap();
                prop_assert_eq!(got.as_deref(), Some(b.as_slice()));
            }
            prop_assert!(read_frame(&mut r, 300).unwrap().is_none());
        }

        /// JSON values survive encode → frame → decode unchanged (floats too:
        /// `float_roundtrip` is enabled for exactly this).
        #[test]
        fn json_values_round_trip(x in any::<f64>().prop_filter("finite", |f| f.is_finite()), s in ".*") {
            let v = serde_json::json!({"x": x, "s": s});
            let body = serde_json::to_vec(&v).unwrap();
            let mut stream = Vec::new();
            write_frame(&mut stream, &body, MAX_OUTBOUND).unwrap();
            let back = read_frame(&mut Cursor::new(stream), MAX_OUTBOUND).unwrap().unwrap();
            let v2: serde_json::Value = serde_json::from_slice(&back).unwrap();
            prop_assert_eq!(v, v2);
        }
    }
}
