//! One client connection: handshake, then requests until the client leaves.
//!
//! A broken frame ends that one connection, never the daemon; a bad request
//! gets an error reply and the connection goes on.

use super::router::{self, Conn};
use super::Daemon;
use crate::codec::{read_frame_async, write_frame_async, FrameError};
use crate::ipc;
use crate::protocol::{reply_err, Connect, ErrorCode, Origin, RpcError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

/// A client must present its origin this quickly.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks the peer (same user only, the socket's or pipe's rule), then
/// serves it.
pub async fn serve(daemon: Arc<Daemon>, mut stream: ipc::ServerStream, conn_id: u64) {
    match ipc::peer_is_same_user(&stream) {
        Ok(true) => {}
        Ok(false) | Err(_) => {
            tracing::warn!(conn_id, "refused a connection from another user");
            let err = RpcError::new(
                ErrorCode::Forbidden,
                "this companion daemon serves only its own user",
            );
            let _ =
                write_frame_async(&mut stream, &reply_err(&Value::Null, &err), usize::MAX).await;
            return;
        }
    }
    serve_checked(daemon, stream, conn_id).await;
}

/// The protocol over any byte stream, once its peer passed the check.
async fn serve_checked<S>(daemon: Arc<Daemon>, stream: S, conn_id: u64)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let max_frame = daemon
        .config()
        .map(|c| c.max_frame)
        .unwrap_or(crate::codec::DEFAULT_MAX_INBOUND);
    let (rd, mut wr) = tokio::io::split(stream);
    // Buffered: a frame's prefix and body arrive in one read, not two.
    let mut rd = tokio::io::BufReader::with_capacity(64 * 1024, rd);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if write_frame_async(&mut wr, &frame, usize::MAX)
                .await
                .is_err()
            {
                break;
            }
        }
    });

    let origin =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame_async(&mut rd, max_frame)).await {
            Ok(Ok(Some(frame))) => match handshake_origin(&frame) {
                Ok(origin) => origin,
                Err(err) => {
                    let _ = tx.send(reply_err(&Value::Null, &err));
                    drop(tx);
                    let _ = writer.await;
                    return;
                }
            },
            _ => {
                drop(tx);
                let _ = writer.await;
                return;
            }
        };
    tracing::debug!(conn_id, origin = %origin, "client connected");

    let mut conn = Conn {
        id: conn_id,
        origin,
        session: None,
        outbox: tx,
    };
    loop {
        match read_frame_async(&mut rd, max_frame).await {
            Ok(Some(frame)) => router::handle_frame(&daemon, &mut conn, &frame).await,
            Ok(None) => break,
            Err(FrameError::TooLarge { len, cap }) => {
                let err = RpcError::new(
                    ErrorCode::MessageTooLarge,
                    format!("message of {len} bytes exceeds the limit of {cap} bytes"),
                );
                let _ = conn.outbox.send(reply_err(&Value::Null, &err));
                break;
            }
            Err(e) => {
                tracing::debug!(conn_id, "connection ended: {e}");
                break;
            }
        }
    }
    if let Some(session) = conn.session.take() {
        session.subscribers.remove(conn_id);
    }
    drop(conn);
    let _ = writer.await;
}

/// The origin the handshake presents, or the `invalid_request` to answer.
fn handshake_origin(frame: &[u8]) -> Result<Origin, RpcError> {
    let connect = serde_json::from_slice::<Connect>(frame).map_err(|e| {
        RpcError::new(
            ErrorCode::InvalidRequest,
            format!("the first frame on the daemon socket must be {{\"connect\":{{\"origin\":…}}}}: {e}"),
        )
    })?;
    connect
        .connect
        .origin
        .parse()
        .map_err(|e: crate::protocol::origin::BadOrigin| {
            RpcError::new(ErrorCode::InvalidRequest, e.to_string())
        })
}
