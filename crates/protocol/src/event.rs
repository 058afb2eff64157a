//! Events the daemon pushes (no `id`): `{"event": name, "data": {…}}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    content = "data",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    /// To each connection taking part in a flow with `openIn: "extension"`
    /// (the one that started it and every one that joined): the shim opens
    /// the URL in a tab, or focuses the tab it has for `flowId`.
    SignInStarted { url: String, flow_id: String },
    /// To the connection that called `signInWithDevice`, once: what the
    /// person types on another device (RFC 8628 §3.2). Nothing here is a
    /// credential; the device code never leaves the daemon.
    DeviceCode {
        flow_id: String,
        verification_uri: String,
        user_code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verification_uri_complete: Option<String>,
        expires_in: u64,
    },
    /// To the same connections when the flow ends (the shim closes the tab).
    SignInFinished { flow_id: String, ok: bool },
    /// To every connection bound to the app: all browsers and the CLI.
    SessionChanged {
        authenticated: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sub: Option<String>,
        /// After a sign-out: where each browser ends the provider's own
        /// session (a background tab that closes itself), so none is
        /// signed back in by the provider's cookie.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_session_url: Option<String>,
    },
}

impl Event {
    pub fn to_frame(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn wire(e: &Event) -> Value {
        serde_json::from_slice(&e.to_frame()).unwrap()
    }

    #[test]
    fn events_serialize_to_the_documented_shape() {
        assert_eq!(
            wire(&Event::SessionChanged {
                authenticated: true,
                sub: Some("u1".into()),
                end_session_url: None,
            }),
            json!({"event":"sessionChanged","data":{"authenticated":true,"sub":"u1"}})
        );
        assert_eq!(
            wire(&Event::SessionChanged {
                authenticated: false,
                sub: None,
                end_session_url: None,
            }),
            json!({"event":"sessionChanged","data":{"authenticated":false}})
        );
        assert_eq!(
            wire(&Event::SignInStarted {
                url: "https://i/auth".into(),
                flow_id: "f1".into()
            }),
            json!({"event":"signInStarted","data":{"url":"https://i/auth","flowId":"f1"}})
        );
        assert_eq!(
            wire(&Event::SignInFinished {
                flow_id: "f1".into(),
                ok: false
            }),
            json!({"event":"signInFinished","data":{"flowId":"f1","ok":false}})
        );
    }

    #[test]
    fn events_read_back() {
        let e = Event::SignInStarted {
            url: "u".into(),
            flow_id: "f".into(),
        };
        assert_eq!(serde_json::from_slice::<Event>(&e.to_frame()).unwrap(), e);
    }
}
