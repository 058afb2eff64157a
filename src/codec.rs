//! The daemon's async twins of the framing in
//! [`logto_companion_protocol::codec`] (which the host and the CLI use,
//! blocking). Both check the length with the same [`checked_len`] before
//! allocating, and write the same [`length_prefix`].

pub use logto_companion_protocol::codec::*;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Async twin of [`read_frame`], for the daemon.
pub async fn read_frame_async<R: AsyncRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        match reader.read(&mut prefix[filled..]).await {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = checked_len(prefix, cap)?;
    let mut body = vec![0u8; len];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => FrameError::Truncated,
            _ => FrameError::Io(e),
        })?;
    Ok(Some(body))
}

/// Async twin of [`write_frame`], for the daemon.
pub async fn write_frame_async<W: AsyncWrite + Unpin>(
    writer: &mut W,
    body: &[u8],
    cap: usize,
) -> Result<(), FrameError> {
    let prefix = length_prefix(body, cap)?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&prefix);
    buf.extend_from_slice(body);
    writer.write_all(&buf).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, body, usize::MAX).unwrap();
        out
    }

    #[tokio::test]
    async fn async_reader_matches_the_blocking_one() {
        let bytes = [framed(b"[1]"), framed(b"\"x\"")].concat();
        let mut r = Cursor::new(bytes);
        assert_eq!(read_frame_async(&mut r, 64).await.unwrap().unwrap(), b"[1]");
        assert_eq!(
            read_frame_async(&mut r, 64).await.unwrap().unwrap(),
            b"\"x\""
        );
        assert!(read_frame_async(&mut r, 64).await.unwrap().is_none());
    }
}
