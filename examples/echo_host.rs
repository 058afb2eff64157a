//! The baseline for the benchmarks: a bare native-messaging host that
//! answers every request itself, speaking the same framing on the same pipe.
//! Whatever our host + daemon add on top of this is our overhead; this is
//! the physical limit of the channel.

use std::io::{Read, Write};

fn main() {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let (mut input, mut output) = (stdin.lock(), stdout.lock());
    loop {
        let mut len = [0u8; 4];
        if input.read_exact(&mut len).is_err() {
            return;
        }
        let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
        if input.read_exact(&mut body).is_err() {
            return;
        }
        // Parse and answer like a real host would: read the id, echo it.
        let id = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("id").cloned())
            .unwrap_or(serde_json::Value::Null);
        let reply = serde_json::to_vec(&serde_json::json!({"id": id, "result": {"pong": true}}))
            .unwrap_or_default();
        let mut frame = (reply.len() as u32).to_ne_bytes().to_vec();
        frame.extend_from_slice(&reply);
        if output
            .write_all(&frame)
            .and_then(|_| output.flush())
            .is_err()
        {
            return;
        }
    }
}
