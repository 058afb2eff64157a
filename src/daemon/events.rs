//! The connections bound to one app session, and pushing events to them.

use crate::protocol::Event;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

/// Where a connection's outgoing frames go (its writer task).
pub type Outbox = UnboundedSender<Vec<u8>>;

#[derive(Default)]
pub struct Subscribers {
    inner: Mutex<HashMap<u64, Outbox>>,
}

impl Subscribers {
    pub fn add(&self, conn_id: u64, outbox: Outbox) {
        self.lock().insert(conn_id, outbox);
    }

    pub fn remove(&self, conn_id: u64) {
        self.lock().remove(&conn_id);
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Sends `event` to every bound connection; closed ones are dropped.
    pub fn broadcast(&self, event: &Event) {
        let frame = event.to_frame();
        self.lock()
            .retain(|_, outbox| outbox.send(frame.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Outbox>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
