//! The session's rules against a fake provider, a memory store and a
//! manual clock: single flight, save-before-use, a refresh that outlives
//! its caller, save retries, the expiry margin, a dead grant, and the
//! sign-in flow's join and cancel. Each runs in milliseconds (tokio's
//! paused time stands in for waiting).

use super::idp::{CodeExchange, IdpResult};
use super::*;
use crate::daemon::events::Outbox;
use crate::oidc::discovery::Metadata;
use crate::oidc::tokens::TokenSet;
use crate::protocol::{Event, SignInParams};
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
        }
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
            lock(&self.valid).remove(refresh_token.expose());
            Ok(())
        })
    }

    fn userinfo<'a>(&'a self, _p: &'a Provider, _t: &'a Secret) -> IdpResult<'a, Value> {
        Box::pin(async { Ok(json!({"sub": "user-1"})) })
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
        let clock = Arc::new(ManualClock::at(T0));
        let idp = Arc::new(FakeIdp::new(Arc::clone(&clock)));
        let store = Arc::new(FlakyStore::default());
        let deps = SessionDeps {
            idp: idp.clone(),
            store: store.clone(),
            clock: clock.clone(),
            sign_in_timeout: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
            activity: Activity::new(),
        };
        let session = Arc::new(Session::new(AppKey::new(ENDPOINT, APP), Arc::new(deps)));
        session.update_app_config(&AppConfig {
            endpoint: ENDPOINT.into(),
            app_id: APP.into(),
            issuer: Some(ISSUER.into()),
            allowed_origins: vec![],
            allow_cli: true,
            scopes: vec![],
            resources: vec![],
            post_logout_redirect_uri: None,
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
            sub: None
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

#[tokio::test]
async fn a_sign_in_completed_through_the_loopback_is_saved_and_announced() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = Fixture::signed_out();
    let mut events = f.subscribe();
    let (mut rx, task) = start_sign_in(&f);
    let Event::SignInStarted { url, .. } = next_event(&mut rx).await else {
        panic!()
    };
    let redirect = url::Url::parse(&query(&url, "redirect_uri")).unwrap();
    let port = redirect.port().unwrap();
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let path = format!(
        "/callback?code=the-code&state={}&iss={}",
        query(&url, "state"),
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
    assert!(page.starts_with("HTTP/1.1 200"), "{page:.200}");
    let claims = task.await.unwrap().expect("signed in");
    assert_eq!(claims.claims["sub"], "user-1");
    assert_eq!(f.stored_refresh_token().as_deref(), Some("rt-1"));
    assert_eq!(
        event(events.try_recv().expect("sessionChanged")),
        Event::SessionChanged {
            authenticated: true,
            sub: Some("user-1".into())
        }
    );
    // The access token from the exchange is served without a grant.
    let (token, _) = f.session.access_token(None, None).await.unwrap();
    assert_eq!(token.expose(), "at-1");
    assert_eq!(f.idp.grants(), 0);
}
