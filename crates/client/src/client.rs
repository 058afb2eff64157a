//! A blocking, typed client of the daemon, for the CLI and `doctor` (no
//! async runtime on the `logto-companion token` path: scripts call it per
//! request).

use crate::ipc::{connect_or_start, IpcError, Stream};
use crate::paths::Paths;
use logto_companion_protocol::codec::{read_frame, write_frame, FrameError, MAX_OUTBOUND};
use logto_companion_protocol::{
    request_frame, Connect, ConnectInfo, ErrorCode, Event, Incoming, Origin, Request, RpcError,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub struct Client {
    stream: Stream,
    next_id: u64,
}

impl Client {
    /// Connects (starting the daemon if needed) and presents `origin`.
    pub fn connect(paths: &Paths, origin: &Origin, kind: &str) -> Result<Client, IpcError> {
        let stream = connect_or_start(paths)?;
        Self::handshake(stream, origin, kind)
    }

    /// Connects only if a daemon is already running.
    pub fn connect_existing(
        paths: &Paths,
        origin: &Origin,
        kind: &str,
    ) -> Result<Client, IpcError> {
        let stream = crate::ipc::connect_existing(paths).map_err(IpcError::Connect)?;
        Self::handshake(stream, origin, kind)
    }

    fn handshake(mut stream: Stream, origin: &Origin, kind: &str) -> Result<Client, IpcError> {
        let hello = Connect {
            connect: ConnectInfo {
                origin: origin.to_string(),
                client: kind.to_string(),
                pid: std::process::id(),
            },
        };
        let frame = serde_json::to_vec(&hello).unwrap_or_default();
        if let Err(e) = write_frame(&mut stream, &frame, MAX_OUTBOUND) {
            if let Some(err) = refusal(&mut stream) {
                return Err(IpcError::Refused(err));
            }
            return Err(match e {
                FrameError::Io(io) => IpcError::Connect(io),
                other => IpcError::Connect(std::io::Error::other(other.to_string())),
            });
        }
        Ok(Client { stream, next_id: 1 })
    }

    /// Sends a request without waiting; returns its id. Requests on one
    /// connection are handled in order up to `hello`, so `hello` and the
    /// request after it can go out together (one round trip).
    pub fn send(&mut self, request: &Request) -> Result<u64, RpcError> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = request_frame(&Value::from(id), request);
        if let Err(e) = write_frame(&mut self.stream, &frame, MAX_OUTBOUND) {
            return Err(refusal(&mut self.stream).unwrap_or_else(|| unavailable(e)));
        }
        Ok(id)
    }

    /// Waits for the reply to `id` and reads it as `R`; events that arrive
    /// in the meantime go to `on_event`.
    pub fn wait_reply<R: DeserializeOwned>(
        &mut self,
        id: u64,
        mut on_event: impl FnMut(&Event),
    ) -> Result<R, RpcError> {
        loop {
            let Some(frame) = read_frame(&mut self.stream, MAX_OUTBOUND).map_err(unavailable)?
            else {
                return Err(RpcError::new(
                    ErrorCode::DaemonUnavailable,
                    "the companion daemon closed the connection",
                ));
            };
            let incoming: Incoming = serde_json::from_slice(&frame).map_err(bad_frame)?;
            let (reply_id, result, error) = match incoming {
                Incoming::Event(e) => {
                    on_event(&e);
                    continue;
                }
                Incoming::Reply { id, result, error } => (id, result, error),
            };
            // A connection-level error (refused peer, oversized frame)
            // comes with a null id.
            if reply_id.is_null() {
                if let Some(err) = error {
                    return Err(err);
                }
            }
            if reply_id != id {
                continue;
            }
            if let Some(err) = error {
                return Err(err);
            }
            return serde_json::from_value(result.unwrap_or(Value::Null)).map_err(bad_frame);
        }
    }

    /// Sends one request and waits for its reply, passing events on.
    pub fn call_with_events<R: DeserializeOwned>(
        &mut self,
        request: &Request,
        on_event: impl FnMut(&Event),
    ) -> Result<R, RpcError> {
        let id = self.send(request)?;
        self.wait_reply(id, on_event)
    }

    /// Sends one request and waits for its reply.
    pub fn call<R: DeserializeOwned>(&mut self, request: &Request) -> Result<R, RpcError> {
        self.call_with_events(request, |_| {})
    }
}

/// After a failed write: the daemon may have refused the connection (another
/// uid) and closed it before reading what we sent, and the handshake may
/// even have gone out before it closed; its reason (an error with a null
/// id) is waiting to be read, and says more than a broken pipe.
fn refusal(stream: &mut Stream) -> Option<RpcError> {
    let reply = read_frame(stream, MAX_OUTBOUND).ok()??;
    match serde_json::from_slice(&reply) {
        Ok(Incoming::Reply {
            id: Value::Null,
            error: Some(err),
            ..
        }) => Some(err),
        _ => None,
    }
}

fn unavailable(e: FrameError) -> RpcError {
    RpcError::new(
        ErrorCode::DaemonUnavailable,
        format!("lost the connection to the companion daemon: {e}"),
    )
}

fn bad_frame(e: serde_json::Error) -> RpcError {
    RpcError::new(
        ErrorCode::InternalError,
        format!("unexpected frame from the daemon: {e}"),
    )
}
