//! What keeps the daemon from exiting idle: live connections and running
//! sign-in flows. The idle timer runs only while the count is zero.

use tokio::sync::watch;

/// The counter; cheap to clone, shared by the accept loop and the sessions.
#[derive(Clone)]
pub struct Activity(watch::Sender<usize>);

/// Counts as activity while alive.
pub struct ActivityGuard(watch::Sender<usize>);

impl Activity {
    pub fn new() -> Activity {
        Activity(watch::channel(0).0)
    }

    pub fn guard(&self) -> ActivityGuard {
        self.0.send_modify(|n| *n += 1);
        ActivityGuard(self.0.clone())
    }

    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.0.subscribe()
    }
}

impl Default for Activity {
    fn default() -> Activity {
        Activity::new()
    }
}

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}
