//! The session's rules against a fake provider, a memory store and a
//! manual clock: single flight, save-before-use, a refresh that outlives
//! its caller, save retries, the expiry margin, a dead grant, and the
//! sign-in flow's join and cancel. Each runs in milliseconds (tokio's
//! paused time stands in for waiting).

use super::idp::{CodeExchange, IdpResult};
use super::*;
use crate::daemon::events::Outbox;
use crate::oidc::device::{DeviceAuthorization, Poll as DevicePoll};
use crate::oidc::discovery::Metadata;
use crate::oidc::tokens::TokenSet;
use crate::protocol::{Event, SignInParams, SignOutParams};
use crate::store::memory::MemoryStore;
use crate::store::{StoreError, StoreInfo, StoredSession, RECORD_VERSION};
use clock::ManualClock;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

const ISSUER: &str = "https://idp.test/oidc";
const ENDPOINT: &str = "https://idp.test";
const APP: &str = "app-1";
const T0: u64 = 1_800_000_000;

/// A provider that rotates refresh tokens and refuses a spent one, as
/// Logto does.
struct FakeIdp {
    provider: Arc<Provider>,
    clock: Arc<ManualClock>,
    valid: Mutex<HashSet<String>>,
    next: AtomicUsize,
    grants: AtomicUsize,
    presented: Mutex<Vec<String>>,
    ttl: Mutex<u64>,
    /// How long each refresh takes (in tokio time).
    delay: Mutex<Duration>,
    /// Pushed authorization requests seen (their query strings), and the
    /// OAuth error to answer them with.
    pushed: Mutex<Vec<String>>,
    push_error: Mutex<Option<(String, String)>>,
    revoked: Mutex<Vec<String>>,
    revoke_refused: std::sync::atomic::AtomicBool,
    /// What the token endpoint answers each device poll, in order (then
    /// `authorization_pending` for ever), and when each poll came.
    device_script: Mutex<std::collections::VecDeque<FakePoll>>,
    device_polls: Mutex<Vec<tokio::time::Instant>>,
}

#[derive(Clone, Copy)]
enum FakePoll {
    Pending,
    SlowDown,
    Approve,
    Fail(&'static str),
}

impl FakeIdp {
    fn new(clock: Arc<ManualClock>) -> FakeIdp {
        let metadata: Metadata = serde_json::from_value(json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": format!("{ISSUER}/jwks"),
            "end_session_endpoint": format!("{ISSUER}/session/end"),
            "revocation_endpoint": format!("{ISSUER}/token/revocation"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES384"],
        }))
        .expect("fake metadata");
        FakeIdp {
            provider: Arc::new(Provider::new(metadata)),
            clock,
            valid: Mutex::new(HashSet::from(["rt-0".to_string()])),
            next: AtomicUsize::new(1),
            grants: AtomicUsize::new(0),
            presented: Mutex::new(Vec::new()),
            ttl: Mutex::new(3600),
            delay: Mutex::new(Duration::ZERO),
            pushed: Mutex::new(Vec::new()),
            push_error: Mutex::new(None),
            revoked: Mutex::new(Vec::new()),
            revoke_refused: Default::default(),
            device_script: Mutex::new(Default::default()),
            device_polls: Mutex::new(Vec::new()),
        }
    }

    /// The same provider, advertising a device authorization endpoint;
    /// its polls answer `script` in order.
    fn with_device(mut self, script: &[FakePoll]) -> FakeIdp {
        let mut doc = serde_json::to_value(&self.provider.metadata).unwrap();
        doc["device_authorization_endpoint"] = json!(format!("{ISSUER}/device/auth"));
        self.provider = Arc::new(Provider::new(serde_json::from_value(doc).unwrap()));
        *lock(&self.device_script) = script.iter().copied().collect();
        self
    }

    fn device_polls(&self) -> usize {
        lock(&self.device_polls).len()
    }

    /// The same provider, advertising a PAR endpoint.
    fn with_par(mut self) -> FakeIdp {
        let mut doc = serde_json::to_value(&self.provider.metadata).unwrap();
        doc["pushed_authorization_request_endpoint"] = json!(format!("{ISSUER}/request"));
        self.provider = Arc::new(Provider::new(serde_json::from_value(doc).unwrap()));
        self
    }

    fn issue(&self, with_refresh: bool) -> TokenSet {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let rt = format!("rt-{n}");
        if with_refresh {
            lock(&self.valid).insert(rt.clone());
        }
        TokenSet {
            access_token: Secret::new(format!("at-{n}")),
            expires_at: self.clock.now() + *lock(&self.ttl),
            refresh_token: with_refresh.then(|| Secret::new(rt)),
            id_token: None,
            id_claims: Some(json!({"sub": "user-1"})),
        }
    }

    fn grants(&self) -> usize {
        self.grants.load(Ordering::SeqCst)
    }
}

impl Idp for FakeIdp {
    fn provider<'a>(&'a self, _issuer: &'a str) -> IdpResult<'a, Arc<Provider>> {
        Box::pin(async move { Ok(Arc::clone(&self.provider)) })
    }

    fn cached(&self, _issuer: &str) -> Option<Arc<Provider>> {
        Some(Arc::clone(&self.provider))
    }

    fn push_authorization<'a>(
        &'a self,
        _provider: &'a Provider,
        _endpoint: &'a str,
        client_id: &'a str,
        auth_url: &'a str,
    ) -> IdpResult<'a, String> {
        Box::pin(async move {
            lock(&self.pushed).push(auth_url.to_string());
            if let Some((error, description)) = lock(&self.push_error).clone() {
                return Err(OidcError::Idp {
                    error,
                    description: Some(description),
                });
            }
            Ok(format!(
                "{ISSUER}/auth?client_id={client_id}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
            ))
        })
    }

    fn exchange_code<'a>(
        &'a self,
        _provider: Arc<Provider>,
        req: CodeExchange<'a>,
    ) -> IdpResult<'a, TokenSet> {
        Box::pin(async move {
            assert_eq!(req.code.expose(), "the-code");
            Ok(self.issue(true))
        })
    }

    fn refresh<'a>(
        &'a self,
        _provider: Arc<Provider>,
        _client_id: &'a str,
        refresh_token: &'a Secret,
        _resource: Option<&'a str>,
        _org: Option<&'a str>,
    ) -> IdpResult<'a, TokenSet> {
        Box::pin(async move {
            self.grants.fetch_add(1, Ordering::SeqCst);
            lock(&self.presented).push(refresh_token.expose().to_string());
            let delay = *lock(&self.delay);
            tokio::time::sleep(delay).await;
            if !lock(&self.valid).remove(refresh_token.expose()) {
                return Err(OidcError::InvalidGrant("refresh token already used".into()));
            }
            Ok(self.issue(true))
        })
    }

    fn revoke<'a>(
        &'a self,
        _provider: &'a Provider,
        _client_id: &'a str,
        refresh_token: &'a Secret,
    ) -> IdpResult<'a, ()> {
        Box::pin(async move {
            if self.revoke_refused.load(Ordering::SeqCst) {
                return Err(OidcError::Idp {
                    error: "invalid_client".into(),
                    description: Some("client authentication failed".into()),
                });
            }
            lock(&self.revoked).push(refresh_token.expose().to_string());
            lock(&self.valid).remove(refresh_token.expose());
            Ok(())
        })
    }

    fn userinfo<'a>(&'a self, _p: &'a Provider, _t: &'a Secret) -> IdpResult<'a, Value> {
        Box::pin(async { Ok(json!({"sub": "user-1"})) })
    }

    fn device_authorize<'a>(
        &'a self,
        endpoint: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
        _resources: &'a [String],
    ) -> IdpResult<'a, DeviceAuthorization> {
        Box::pin(async move {
            assert_eq!(endpoint, format!("{ISSUER}/device/auth"));
            assert_eq!(client_id, APP);
            assert!(scopes.iter().any(|s| s == "openid"));
            Ok(DeviceAuthorization {
                device_code: Secret::new("the-device-code"),
                user_code: "WDJB-MJHT".into(),
                verification_uri: format!("{ISSUER}/device"),
                verification_uri_complete: Some(format!("{ISSUER}/device?user_code=WDJB-MJHT")),
                expires_in: 60,
                interval: 5,
            })
        })
    }

    fn device_poll<'a>(
        &'a self,
        _provider: Arc<Provider>,
        _client_id: &'a str,
        device_code: &'a Secret,
    ) -> IdpResult<'a, DevicePoll> {
        Box::pin(async move {
            assert_eq!(device_code.expose(), "the-device-code");
            lock(&self.device_polls).push(tokio::time::Instant::now());
            let next = lock(&self.device_script)
                .pop_front()
                .unwrap_or(FakePoll::Pending);
            match next {
                FakePoll::Pending => Ok(DevicePoll::Pending),
                FakePoll::SlowDown => Ok(DevicePoll::SlowDown),
                FakePoll::Approve => Ok(DevicePoll::Tokens(self.issue(true))),
                FakePoll::Fail(error) => Err(OidcError::Idp {
                    error: error.into(),
                    description: None,
                }),
            }
        })
    }
}

/// The memory store, with saves that fail on demand.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    failing_saves: AtomicUsize,
}

impl TokenStore for FlakyStore {
    fn load(&self, e: &str, a: &str) -> Result<Option<StoredSession>, StoreError> {
        self.inner.load(e, a)
    }
    fn save(&self, e: &str, a: &str, r: &StoredSession) -> Result<(), StoreError> {
        let failing = self.failing_saves.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing_saves.store(failing - 1, Ordering::SeqCst);
            return Err(StoreError::Unavailable("the collection is locked".into()));
        }
        self.inner.save(e, a, r)
    }
    fn delete(&self, e: &str, a: &str) -> Result<(), StoreError> {
        self.inner.delete(e, a)
    }
    fn describe(&self) -> StoreInfo {
        self.inner.describe()
    }
}

struct Fixture {
    session: Arc<Session>,
    idp: Arc<FakeIdp>,
    store: Arc<FlakyStore>,
    clock: Arc<ManualClock>,
}

impl Fixture {
    /// A session signed in with refresh token `rt-0` (saved in the store).
    fn signed_in() -> Fixture {
        let f = Fixture::signed_out();
        f.store
            .inner
            .save(ENDPOINT, APP, &record("rt-0"))
            .expect("seed the store");
        f
    }

    fn signed_out() -> Fixture {
        Fixture::with_idp(|idp| idp, AppConfig::default())
    }

    fn with_idp(shape: impl FnOnce(FakeIdp) -> FakeIdp, app: AppConfig) -> Fixture {
        let clock = Arc::new(ManualClock::at(T0));
        let idp = Arc::new(shape(FakeIdp::new(Arc::clone(&clock))));
        let store = Arc::new(FlakyStore::default());
        let deps = SessionDeps {
            idp: idp.clone(),
            store: store.clone(),
            clock: clock.clone(),
            sign_in_timeout: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
            activity: Activity::new(),
            reauth: ReauthMarks::in_memory(),
        };
        let session = Arc::new(Session::new(AppKey::new(ENDPOINT, APP), Arc::new(deps)));
        session.update_app_config(&AppConfig {
            endpoint: ENDPOINT.into(),
            app_id: APP.into(),
            issuer: Some(ISSUER.into()),
            ..app
        });
        Fixture {
            session,
            idp,
            store,
            clock,
        }
    }

    fn with_http_timeout(mut self, t: Duration) -> Fixture {
        let deps = Arc::get_mut(&mut self.session)
            .map(|s| Arc::get_mut(&mut s.deps).expect("deps not shared yet"))
            .expect("session not shared yet");
        deps.http_timeout = t;
        self
    }

    fn stored_refresh_token(&self) -> Option<String> {
        self.store
            .inner
            .load(ENDPOINT, APP)
            .unwrap()
            .map(|r| r.refresh_token.expose().to_string())
    }

    fn subscribe(&self) -> mpsc::UnboundedReceiver<Vec<u8>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.session.subscribers.add(1, tx);
        rx
    }
}

fn record(refresh_token: &str) -> StoredSession {
    StoredSession {
        v: RECORD_VERSION,
        refresh_token: Secret::new(refresh_token),
        id_token: Some(Secret::new("h.eyJzdWIiOiJ1c2VyLTEifQ.s")),
        scopes: vec!["openid".into(), "offline_access".into()],
        resources: vec![],
        saved_at: T0,
    }
}

fn event(frame: Vec<u8>) -> Event {
    serde_json::from_slice(&frame).expect("an event frame")
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh_grant() {
    let f = Fixture::signed_in();
    let calls: Vec<_> = (0..25)
        .map(|_| {
            let s = Arc::clone(&f.session);
            tokio::spawn(async move { s.access_token(None, None).await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for c in calls {
        let (token, _) = c.await.unwrap().expect("a token");
        tokens.insert(token.expose().to_string());
    }
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    assert_eq!(f.idp.grants(), 1, "25 callers, one grant");
}

#[tokio::test]
async fn the_rotated_refresh_token_is_saved_before_it_is_used() {
    let f = Fixture::signed_in();
    f.session.access_token(None, None).await.unwrap();
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-1"));
    f.clock.advance(3600);
    f.session.access_token(None, None).await.unwrap();
    assert_eq!(*lock(&f.idp.presented), ["rt-0", "rt-1"]);
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-2"));
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_outlives_its_caller_is_still_cached_and_saved() {
    let f = Fixture::signed_in().with_http_timeout(Duration::from_secs(1));
    *lock(&f.idp.delay) = Duration::from_secs(5);
    let err = f.session.access_token(None, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NetworkError);
    assert!(
        err.message.contains("goes on in the background"),
        "{}",
        err.message
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-1"));
    let (token, _) = f.session.access_token(None, None).await.unwrap();
    assert_eq!(token.expose(), "at-1");
    assert_eq!(
        f.idp.grants(),
        1,
        "the late result was used, not a new grant"
    );
}

#[tokio::test]
async fn a_failed_save_is_reported_and_retried_on_the_next_request() {
    let f = Fixture::signed_in();
    f.store.failing_saves.store(1, Ordering::SeqCst);
    let err = f.session.access_token(None, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainUnavailable);
    // The spent rt-0 is still what the store holds: the rotated one is in
    // memory only, and the next request saves it.
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-0"));
    let (token, _) = f.session.access_token(None, None).await.unwrap();
    assert_eq!(token.expose(), "at-1", "served from the cache");
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-1"));
    assert_eq!(f.idp.grants(), 1);
}

#[tokio::test]
async fn a_token_is_refreshed_once_inside_the_expiry_margin() {
    let f = Fixture::signed_in();
    f.session.access_token(None, None).await.unwrap();
    f.clock.advance(3600 - 61);
    f.session.access_token(None, None).await.unwrap();
    assert_eq!(f.idp.grants(), 1, "61 s left: served");
    f.clock.advance(2);
    f.session.access_token(None, None).await.unwrap();
    assert_eq!(f.idp.grants(), 2, "59 s left: refreshed");
}

#[tokio::test]
async fn a_short_lived_token_gets_a_quarter_of_its_lifetime_as_margin() {
    let f = Fixture::signed_in();
    *lock(&f.idp.ttl) = 100;
    f.session.access_token(None, None).await.unwrap();
    f.clock.advance(74);
    f.session.access_token(None, None).await.unwrap();
    assert_eq!(f.idp.grants(), 1, "26 s of 100 left: served");
    f.clock.advance(2);
    f.session.access_token(None, None).await.unwrap();
    assert_eq!(f.idp.grants(), 2, "24 s of 100 left: refreshed");
}

#[tokio::test]
async fn a_dead_grant_clears_the_session_and_tells_every_connection() {
    let f = Fixture::signed_out();
    f.store
        .inner
        .save(ENDPOINT, APP, &record("rt-revoked"))
        .unwrap();
    let mut events = f.subscribe();
    let err = f.session.access_token(None, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthenticated);
    assert_eq!(f.stored_refresh_token(), None, "the dead record is gone");
    assert_eq!(
        event(events.try_recv().expect("an event")),
        Event::SessionChanged {
            authenticated: false,
            sub: None,
            end_session_url: None,
        }
    );
    assert!(!f.session.is_authenticated().await.unwrap());
}

/// Starts `signIn` on a new connection; returns its outbox and the task.
fn start_sign_in(
    f: &Fixture,
) -> (
    mpsc::UnboundedReceiver<Vec<u8>>,
    tokio::task::JoinHandle<Result<ClaimsResult, RpcError>>,
) {
    let (tx, rx): (Outbox, _) = mpsc::unbounded_channel();
    let s = Arc::clone(&f.session);
    let task = tokio::spawn(async move { s.sign_in(SignInParams::default(), tx).await });
    (rx, task)
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Event {
    event(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event in time")
            .expect("the outbox is open"),
    )
}

fn query(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_joining_sign_in_gets_the_same_flow_and_cancel_ends_it_for_all() {
    let f = Fixture::signed_out();
    let (mut a, task_a) = start_sign_in(&f);
    let Event::SignInStarted { url, flow_id } = next_event(&mut a).await else {
        panic!("signInStarted first")
    };
    let (mut b, task_b) = start_sign_in(&f);
    assert_eq!(
        next_event(&mut b).await,
        Event::SignInStarted {
            url: url.clone(),
            flow_id: flow_id.clone()
        },
        "the joiner can focus or reopen the same tab"
    );
    let port: u16 = url::Url::parse(&query(&url, "redirect_uri"))
        .unwrap()
        .port()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok());

    let other = f.session.cancel_sign_in(Some("not-this-flow")).await;
    assert!(!other.cancelled);
    let done = f.session.cancel_sign_in(Some(&flow_id)).await;
    assert!(done.cancelled);
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "the loopback port is closed before cancelSignIn answers"
    );
    for task in [task_a, task_b] {
        assert_eq!(
            task.await.unwrap().unwrap_err().code,
            ErrorCode::UserCancelled
        );
    }
    for rx in [&mut a, &mut b] {
        assert_eq!(
            next_event(rx).await,
            Event::SignInFinished {
                flow_id: flow_id.clone(),
                ok: false
            }
        );
    }
    assert!(
        !f.session.cancel_sign_in(None).await.cancelled,
        "nothing left to cancel"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unfinished_sign_in_times_out_as_user_cancelled() {
    let f = Fixture::signed_out();
    let (mut rx, task) = start_sign_in(&f);
    assert!(matches!(
        next_event(&mut rx).await,
        Event::SignInStarted { .. }
    ));
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.code, ErrorCode::UserCancelled);
}

/// True when nothing queued for the connection is a `signInStarted`.
fn no_started(rx: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> bool {
    std::iter::from_fn(|| rx.try_recv().ok())
        .all(|f| !matches!(event(f), Event::SignInStarted { .. }))
}

/// Answers the flow's loopback callback as the provider's redirect would;
/// returns the page's status line.
async fn complete_via_loopback(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let redirect = url::Url::parse(&query(url, "redirect_uri")).unwrap();
    let port = redirect.port().unwrap();
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let path = format!(
        "/callback?code=the-code&state={}&iss={}",
        query(url, "state"),
        url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>()
    );
    conn.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut page = String::new();
    conn.read_to_string(&mut page).await.unwrap();
    page.lines().next().unwrap_or("").to_string()
}

#[tokio::test]
async fn a_sign_in_completed_through_the_loopback_is_saved_and_announced() {
    let f = Fixture::signed_out();
    let mut events = f.subscribe();
    let (mut rx, task) = start_sign_in(&f);
    let Event::SignInStarted { url, .. } = next_event(&mut rx).await else {
        panic!()
    };
    assert!(complete_via_loopback(&url)
        .await
        .starts_with("HTTP/1.1 200"));
    let claims = task.await.unwrap().expect("signed in");
    assert_eq!(claims.claims["sub"], "user-1");
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-1"));
    assert_eq!(
        event(events.try_recv().expect("sessionChanged")),
        Event::SessionChanged {
            authenticated: true,
            sub: Some("user-1".into()),
            end_session_url: None,
        }
    );
    // The access token from the exchange is served without a grant.
    let (token, _) = f.session.access_token(None, None).await.unwrap();
    assert_eq!(token.expose(), "at-1");
    assert_eq!(f.idp.grants(), 0);
}

#[tokio::test]
async fn a_pushed_request_the_provider_refuses_fails_before_any_tab_opens() {
    let f = Fixture::with_idp(FakeIdp::with_par, AppConfig::default());
    *lock(&f.idp.push_error) = Some(("invalid_scope".into(), "unknown scope: phne".into()));
    let (mut rx, task) = start_sign_in(&f);
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.code, ErrorCode::IdpError);
    assert_eq!(err.data.as_ref().unwrap()["error"], "invalid_scope");
    assert!(no_started(&mut rx), "no signInStarted: no tab to open");
    let pushed = lock(&f.idp.pushed).clone();
    assert_eq!(pushed.len(), 1);
    assert!(!query(&pushed[0], "redirect_uri").is_empty());
    assert!(!query(&pushed[0], "code_challenge").is_empty());
}

#[tokio::test]
async fn with_par_the_tab_opens_only_the_request_uri() {
    let f = Fixture::with_idp(FakeIdp::with_par, AppConfig::default());
    let (mut rx, task) = start_sign_in(&f);
    let Event::SignInStarted { url, .. } = next_event(&mut rx).await else {
        panic!()
    };
    assert!(!query(&url, "request_uri").is_empty(), "{url}");
    assert_eq!(query(&url, "client_id"), APP);
    assert!(
        query(&url, "code_challenge").is_empty(),
        "nothing else in the URL"
    );
    f.session.cancel_sign_in(None).await;
    let _ = task.await;
}

#[tokio::test]
async fn a_pinned_port_is_the_redirect_uri_and_a_busy_one_fails_at_once() {
    let busy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let free_port = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let f = Fixture::with_idp(
        |i| i,
        AppConfig {
            redirect_ports: vec![busy_port, free_port],
            ..AppConfig::default()
        },
    );
    let (mut rx, task) = start_sign_in(&f);
    let Event::SignInStarted { url, .. } = next_event(&mut rx).await else {
        panic!()
    };
    assert_eq!(
        query(&url, "redirect_uri"),
        format!("http://127.0.0.1:{free_port}/callback"),
        "the busy first port is skipped"
    );
    f.session.cancel_sign_in(None).await;
    let _ = task.await;

    let f = Fixture::with_idp(
        |i| i,
        AppConfig {
            redirect_port: Some(busy_port),
            ..AppConfig::default()
        },
    );
    let (mut rx, task) = start_sign_in(&f);
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.code, ErrorCode::RedirectPortInUse);
    assert!(
        err.message.contains(&busy_port.to_string()),
        "{}",
        err.message
    );
    assert!(no_started(&mut rx), "no tab for a flow that cannot finish");
    drop(busy);
}

#[tokio::test]
async fn a_refused_revocation_is_reported_and_the_session_is_cleared_anyway() {
    let f = Fixture::signed_in();
    f.idp.revoke_refused.store(true, Ordering::SeqCst);
    let mut events = f.subscribe();
    f.session.is_authenticated().await.unwrap();
    let out = f.session.sign_out(SignOutParams::default()).await.unwrap();
    assert!(!out.revoked);
    let err = out.revocation_error.expect("the reason");
    assert_eq!(err.code, ErrorCode::IdpError);
    assert_eq!(f.stored_refresh_token(), None);
    let url = out
        .end_session_url
        .expect("discovery has end_session_endpoint");
    assert!(!query(&url, "id_token_hint").is_empty());
    let Event::SessionChanged {
        authenticated: false,
        end_session_url: Some(told),
        ..
    } = event(events.try_recv().expect("sessionChanged"))
    else {
        panic!("every connection is told where the provider's session ends")
    };
    assert_eq!(told, url);
}

#[tokio::test]
async fn a_revocation_that_works_says_so() {
    let f = Fixture::signed_in();
    let out = f.session.sign_out(SignOutParams::default()).await.unwrap();
    assert!(out.revoked && out.revocation_error.is_none());
    assert_eq!(*lock(&f.idp.revoked), ["rt-0"]);
}

#[tokio::test]
async fn the_callers_post_logout_uri_is_sent_only_when_the_app_allows_it() {
    let allowed = "http://127.0.0.1:7777/logged-out";
    let app = AppConfig {
        post_logout_redirect_uris: vec![allowed.into()],
        ..AppConfig::default()
    };
    let f = Fixture::with_idp(|i| i, app.clone());
    let out = f
        .session
        .sign_out(SignOutParams {
            post_logout_redirect_uri: Some(allowed.into()),
        })
        .await
        .unwrap();
    assert_eq!(
        query(&out.end_session_url.unwrap(), "post_logout_redirect_uri"),
        allowed
    );
    let f = Fixture::with_idp(|i| i, app);
    let out = f
        .session
        .sign_out(SignOutParams {
            post_logout_redirect_uri: Some("https://abc.chromiumapp.org/".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        query(&out.end_session_url.unwrap(), "post_logout_redirect_uri"),
        ""
    );
}

#[tokio::test]
async fn the_first_sign_in_after_a_sign_out_asks_the_provider_to_authenticate_again() {
    let f = Fixture::signed_in();
    f.session.sign_out(SignOutParams::default()).await.unwrap();
    let (mut rx, task) = start_sign_in(&f);
    let Event::SignInStarted { url, .. } = next_event(&mut rx).await else {
        panic!()
    };
    let prompt = query(&url, "prompt");
    assert!(prompt.split(' ').any(|p| p == "login"), "{prompt}");
    assert!(prompt.split(' ').any(|p| p == "consent"), "{prompt}");
    complete_via_loopback(&url).await;
    task.await.unwrap().unwrap();
    // Signed in again: the mark is gone, the next flow asks only consent.
    let (mut rx, task) = start_sign_in(&f);
    let Event::SignInStarted { url, .. } = next_event(&mut rx).await else {
        panic!()
    };
    assert_eq!(query(&url, "prompt"), "consent");
    f.session.cancel_sign_in(None).await;
    let _ = task.await;
}

#[tokio::test]
async fn signing_in_again_revokes_the_session_it_replaces_first() {
    let f = Fixture::signed_in();
    let mut events = f.subscribe();
    f.session.is_authenticated().await.unwrap();
    let (mut rx, task) = start_sign_in(&f);
    assert!(matches!(
        next_event(&mut rx).await,
        Event::SignInStarted { .. }
    ));
    assert_eq!(
        *lock(&f.idp.revoked),
        ["rt-0"],
        "revoked before the tab opens"
    );
    assert_eq!(f.stored_refresh_token(), None);
    assert!(matches!(
        event(events.try_recv().unwrap()),
        Event::SessionChanged {
            authenticated: false,
            ..
        }
    ));
    f.session.cancel_sign_in(None).await;
    let _ = task.await;
}

#[tokio::test]
async fn clear_tokens_false_keeps_the_old_session_while_the_new_flow_runs() {
    let f = Fixture::signed_in();
    let (tx, mut rx): (Outbox, _) = mpsc::unbounded_channel();
    let s = Arc::clone(&f.session);
    let task = tokio::spawn(async move {
        s.sign_in(
            SignInParams {
                clear_tokens: Some(false),
                ..Default::default()
            },
            tx,
        )
        .await
    });
    assert!(matches!(
        next_event(&mut rx).await,
        Event::SignInStarted { .. }
    ));
    assert!(lock(&f.idp.revoked).is_empty());
    assert!(f.session.is_authenticated().await.unwrap());
    f.session.cancel_sign_in(None).await;
    let _ = task.await;
}

// The device authorization grant (RFC 8628) against the fake provider.

fn device_fixture(script: &[FakePoll]) -> Fixture {
    Fixture::with_idp(|idp| idp.with_device(script), AppConfig::default())
}

#[tokio::test(start_paused = true)]
async fn a_device_sign_in_polls_at_the_interval_slows_down_and_adopts_the_session() {
    let f = device_fixture(&[FakePoll::Pending, FakePoll::SlowDown, FakePoll::Approve]);
    let mut others = f.subscribe();
    let (tx, mut rx): (Outbox, _) = mpsc::unbounded_channel();
    let start = tokio::time::Instant::now();
    let claims = f
        .session
        .sign_in_with_device(Default::default(), tx)
        .await
        .expect("signed in");
    assert_eq!(claims.claims["sub"], "user-1");
    match event(rx.try_recv().expect("the deviceCode event")) {
        Event::DeviceCode {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_in,
            ..
        } => {
            assert_eq!(user_code, "WDJB-MJHT");
            assert_eq!(verification_uri, format!("{ISSUER}/device"));
            assert!(verification_uri_complete.is_some());
            assert_eq!(expires_in, 60);
        }
        other => panic!("expected deviceCode, got {other:?}"),
    }
    // 5 s, 5 s, then 10 s after slow_down (RFC 8628 §3.5).
    let offsets: Vec<u64> = lock(&f.idp.device_polls)
        .iter()
        .map(|t| (*t - start).as_secs())
        .collect();
    assert_eq!(offsets, [5, 10, 20]);
    // Saved before use, and every connection of the app was told.
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-1"));
    let told = std::iter::from_fn(|| others.try_recv().ok()).map(event);
    assert!(told.into_iter().any(|e| matches!(
        e,
        Event::SessionChanged {
            authenticated: true,
            ..
        }
    )));
    assert!(f.session.is_authenticated().await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_device_code_nobody_approves_expires_with_expired_token() {
    let f = device_fixture(&[]);
    let (tx, _rx): (Outbox, _) = mpsc::unbounded_channel();
    let err = f
        .session
        .sign_in_with_device(Default::default(), tx)
        .await
        .expect_err("expired");
    assert_eq!(err.code, ErrorCode::IdpError);
    assert_eq!(err.data.as_ref().unwrap()["error"], "expired_token");
    // expires_in 60, interval 5: polls at 5..55 s, none after the deadline.
    assert_eq!(f.idp.device_polls(), 11);
    assert!(f.stored_refresh_token().is_none());
    assert!(lock(&f.session.sign_in).is_none(), "the slot is free again");
}

#[tokio::test(start_paused = true)]
async fn a_denied_device_sign_in_fails_with_access_denied_and_stops_polling() {
    let f = device_fixture(&[FakePoll::Pending, FakePoll::Fail("access_denied")]);
    let (tx, _rx): (Outbox, _) = mpsc::unbounded_channel();
    let err = f
        .session
        .sign_in_with_device(Default::default(), tx)
        .await
        .expect_err("denied");
    assert_eq!(err.code, ErrorCode::IdpError);
    assert_eq!(err.data.as_ref().unwrap()["error"], "access_denied");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(f.idp.device_polls(), 2, "no poll after a final error");
    assert!(f.stored_refresh_token().is_none());
}

#[tokio::test(start_paused = true)]
async fn cancel_sign_in_stops_a_device_flow_from_polling() {
    let f = device_fixture(&[]);
    let (tx, _rx): (Outbox, _) = mpsc::unbounded_channel();
    let s = Arc::clone(&f.session);
    let running = tokio::spawn(async move { s.sign_in_with_device(Default::default(), tx).await });
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(f.idp.device_polls(), 2);
    assert!(f.session.cancel_sign_in(None).await.cancelled);
    let err = running.await.unwrap().expect_err("cancelled");
    assert_eq!(err.code, ErrorCode::UserCancelled);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(f.idp.device_polls(), 2, "no poll after the cancel");
}

#[tokio::test]
async fn a_provider_without_a_device_endpoint_is_refused_with_device_flow_unsupported() {
    let f = Fixture::signed_in();
    let (tx, _rx): (Outbox, _) = mpsc::unbounded_channel();
    let err = f
        .session
        .sign_in_with_device(Default::default(), tx)
        .await
        .expect_err("unsupported");
    assert_eq!(err.code, ErrorCode::DeviceFlowUnsupported);
    assert!(err.message.contains("device_authorization_endpoint"));
    assert_eq!(
        f.stored_refresh_token().as_deref(),
        Some("rt-0"),
        "the existing session is kept"
    );
}

#[tokio::test(start_paused = true)]
async fn a_device_sign_in_while_another_runs_is_refused() {
    let f = device_fixture(&[]);
    let (tx, _rx): (Outbox, _) = mpsc::unbounded_channel();
    let s = Arc::clone(&f.session);
    let tx2 = tx.clone();
    let _first = tokio::spawn(async move { s.sign_in_with_device(Default::default(), tx2).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let err = f
        .session
        .sign_in_with_device(Default::default(), tx)
        .await
        .expect_err("refused");
    assert_eq!(err.code, ErrorCode::SignInInProgress);
}
