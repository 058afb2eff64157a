//! Session records in keychain entries.
//!
//! One app session is one entry: service `logto-companion`, account
//! `{app_id}@{endpoint}`, secret = the record as compact JSON. Windows
//! Credential Manager holds at most 2,560 bytes per entry, and a Logto ID
//! token with many claims does not fit with a refresh token, so a larger
//! record is split, on every platform alike (the code Windows needs is the
//! code the Linux tests run):
//!
//! - the head entry (the account itself) holds a small manifest:
//!   `{"v":1,"parts":{"slot":"a","count":3,"len":6120,"sha256":"…"}}`;
//! - the parts are `{account}#a1` … `{account}#a3`.
//!
//! Parts are written first, into the slot (`a` or `b`) the current head does
//! not use, then the head is switched: a write cut short leaves the previous
//! record whole. Parts of the other slot are removed afterwards. A head
//! whose parts are missing or do not hash to the manifest is `Corrupt`.

use super::{StoreError, StoreInfo, StoredSession, TokenStore, RECORD_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The keychain service name of every entry.
pub const SERVICE: &str = "logto-companion";
/// Largest secret per entry: Windows Credential Manager's
/// `CRED_MAX_CREDENTIAL_BLOB_SIZE`.
pub const ENTRY_LIMIT: usize = 2560;
/// Most parts one record may span (40 KiB at 2,560 bytes each).
pub const MAX_PARTS: usize = 16;
/// Longer accounts are hashed (Windows user names stop at 513 characters).
const ACCOUNT_MAX: usize = 200;

/// The account (keychain user name) of an app session's head entry:
/// `{app_id}@{endpoint}`, or a hash of both when that is too long or holds
/// `#` (which separates part numbers).
pub fn account(endpoint: &str, app_id: &str) -> String {
    let endpoint = crate::config::normalize_endpoint(endpoint);
    let readable = format!("{app_id}@{endpoint}");
    if readable.len() <= ACCOUNT_MAX && !readable.contains('#') {
        return readable;
    }
    let digest = Sha256::digest(format!("{endpoint}\n{app_id}").as_bytes());
    format!("sha256:{}", hex(&digest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One keychain backend at the level of entries (secrets of at most
/// `ENTRY_LIMIT` bytes). Errors carry the user-facing message.
pub trait RawStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn set(&self, account: &str, secret: &[u8]) -> Result<(), StoreError>;
    /// False when there was nothing to remove.
    fn remove(&self, account: &str) -> Result<bool, StoreError>;
    fn describe(&self) -> StoreInfo;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Slot {
    A,
    B,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
}

fn part_account(head: &str, slot: Slot, index: usize) -> String {
    format!("{head}#{}{index}", slot.name())
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    v: u32,
    parts: Parts,
}

#[derive(Serialize, Deserialize)]
struct Parts {
    slot: Slot,
    count: usize,
    len: usize,
    sha256: String,
}

/// A `TokenStore` over a `RawStore`: one entry per record, or a manifest
/// and parts when the record is larger than an entry may be.
pub struct EntryStore<R> {
    raw: R,
    limit: usize,
}

impl<R: RawStore> EntryStore<R> {
    pub fn new(raw: R) -> EntryStore<R> {
        EntryStore {
            raw,
            limit: ENTRY_LIMIT,
        }
    }

    #[cfg(test)]
    pub fn raw(&self) -> &R {
        &self.raw
    }

    /// The slot the current head points to, if it is a manifest. A head
    /// that cannot be parsed is about to be overwritten: no slot.
    fn current_slot(&self, head: &str) -> Result<Option<Slot>, StoreError> {
        Ok(self
            .raw
            .get(head)?
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .map(|m| m.parts.slot))
    }

    /// Removes parts `from`, `from + 1`, … of `slot` up to the first gap.
    fn sweep(&self, head: &str, slot: Slot, from: usize) -> Result<(), StoreError> {
        for index in from..=MAX_PARTS {
            if !self.raw.remove(&part_account(head, slot, index))? {
                break;
            }
        }
        Ok(())
    }

    fn read_parts(&self, head: &str, parts: &Parts) -> Result<Vec<u8>, StoreError> {
        if parts.count == 0 || parts.count > MAX_PARTS {
            return Err(StoreError::Corrupt(format!(
                "its manifest lists {} parts",
                parts.count
            )));
        }
        let mut joined = Vec::with_capacity(parts.len);
        for index in 1..=parts.count {
            let part = self
                .raw
                .get(&part_account(head, parts.slot, index))?
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("part {index} of {} is missing", parts.count))
                })?;
            joined.extend_from_slice(&part);
        }
        if joined.len() != parts.len || hex(&Sha256::digest(&joined)) != parts.sha256 {
            return Err(StoreError::Corrupt(
                "its parts do not match its manifest (a write was interrupted?)".into(),
            ));
        }
        Ok(joined)
    }
}

/// A serde error as a `Corrupt` message: where, never what (the input may
/// hold tokens, and serde quotes it).
fn unreadable(what: &str, e: &serde_json::Error) -> StoreError {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Syntax | Category::Eof => "not valid JSON",
        Category::Data => "not the expected fields",
        Category::Io => "unreadable",
    };
    let at = if e.line() > 0 {
        format!(" at line {} column {}", e.line(), e.column())
    } else {
        String::new()
    };
    StoreError::Corrupt(format!("{what}: {kind}{at}"))
}

fn check_version(v: u32) -> Result<(), StoreError> {
    if v == 0 || v > RECORD_VERSION {
        return Err(StoreError::Corrupt(format!(
            "record version {v}, this logto-companion reads version {RECORD_VERSION}"
        )));
    }
    Ok(())
}

/// Splits UTF-8 text into pieces of at most `limit` bytes, on character
/// boundaries (some stores keep secrets as text).
fn split(text: &str, limit: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + limit).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

impl<R: RawStore> TokenStore for EntryStore<R> {
    fn load(&self, endpoint: &str, app_id: &str) -> Result<Option<StoredSession>, StoreError> {
        let head = account(endpoint, app_id);
        let Some(bytes) = self.raw.get(&head)? else {
            return Ok(None);
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| unreadable("keychain entry", &e))?;
        let record = if value.get("parts").is_some() {
            let manifest: Manifest =
                serde_json::from_value(value).map_err(|e| unreadable("manifest", &e))?;
            check_version(manifest.v)?;
            let joined = self.read_parts(&head, &manifest.parts)?;
            serde_json::from_slice::<StoredSession>(&joined)
                .map_err(|e| unreadable("record", &e))?
        } else {
            serde_json::from_value::<StoredSession>(value).map_err(|e| unreadable("record", &e))?
        };
        check_version(record.v)?;
        Ok(Some(record))
    }

    fn save(&self, endpoint: &str, app_id: &str, record: &StoredSession) -> Result<(), StoreError> {
        let head = account(endpoint, app_id);
        let text = serde_json::to_string(record).map_err(|e| {
            StoreError::Unavailable(format!("cannot encode the session record: {e}"))
        })?;
        let old_slot = self.current_slot(&head)?;
        let mut kept: Option<(Slot, usize)> = None;
        if text.len() <= self.limit {
            self.raw.set(&head, text.as_bytes())?;
        } else {
            let pieces = split(&text, self.limit);
            if pieces.len() > MAX_PARTS {
                return Err(StoreError::Unavailable(format!(
                    "the session record is {} bytes, more than the {MAX_PARTS} keychain entries of {} bytes it may span",
                    text.len(),
                    self.limit
                )));
            }
            let slot = old_slot.map(Slot::other).unwrap_or(Slot::A);
            for (i, piece) in pieces.iter().enumerate() {
                self.raw
                    .set(&part_account(&head, slot, i + 1), piece.as_bytes())?;
            }
            let manifest = Manifest {
                v: RECORD_VERSION,
                parts: Parts {
                    slot,
                    count: pieces.len(),
                    len: text.len(),
                    sha256: hex(&Sha256::digest(text.as_bytes())),
                },
            };
            let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
            // The commit point: until here the old head and its parts are
            // untouched.
            self.raw.set(&head, &manifest)?;
            kept = Some((slot, pieces.len()));
        }
        // Old parts are spent secrets: remove them, but the record is
        // saved either way.
        for slot in [Slot::A, Slot::B] {
            let from = match kept {
                Some((s, count)) if s == slot => count + 1,
                _ => 1,
            };
            if let Err(e) = self.sweep(&head, slot, from) {
                tracing::warn!(app = app_id, "could not remove stale keychain entries: {e}");
            }
        }
        Ok(())
    }

    fn delete(&self, endpoint: &str, app_id: &str) -> Result<(), StoreError> {
        let head = account(endpoint, app_id);
        // Every part of both slots goes too, whatever the head says (or if
        // it is unreadable): nothing of a signed-out session stays behind.
        let mut first_error = self.raw.remove(&head).err();
        for slot in [Slot::A, Slot::B] {
            if let Err(e) = self.sweep(&head, slot, 1) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn describe(&self) -> StoreInfo {
        self.raw.describe()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Entries in memory with the Windows size limit, and failures on
    /// demand.
    #[derive(Default)]
    pub struct FakeRaw {
        pub entries: Mutex<BTreeMap<String, Vec<u8>>>,
        /// `set` of an account containing this fails.
        pub fail_set: Mutex<Option<String>>,
    }

    impl RawStore for FakeRaw {
        fn get(&self, account: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.entries.lock().unwrap().get(account).cloned())
        }
        fn set(&self, account: &str, secret: &[u8]) -> Result<(), StoreError> {
            if let Some(f) = self.fail_set.lock().unwrap().as_deref() {
                if account.contains(f) {
                    return Err(StoreError::Unavailable("injected failure".into()));
                }
            }
            if secret.len() > ENTRY_LIMIT {
                return Err(StoreError::Unavailable(format!(
                    "{} bytes is over the limit",
                    secret.len()
                )));
            }
            self.entries
                .lock()
                .unwrap()
                .insert(account.to_string(), secret.to_vec());
            Ok(())
        }
        fn remove(&self, account: &str) -> Result<bool, StoreError> {
            Ok(self.entries.lock().unwrap().remove(account).is_some())
        }
        fn describe(&self) -> StoreInfo {
            StoreInfo {
                kind: "fake",
                description: "fake".into(),
                persistent: false,
            }
        }
    }

    impl FakeRaw {
        pub fn names(&self) -> Vec<String> {
            self.entries.lock().unwrap().keys().cloned().collect()
        }
    }

    pub fn record(id_token_len: usize) -> StoredSession {
        StoredSession {
            v: RECORD_VERSION,
            refresh_token: Secret::new("rt-SECRET-0123456789abcdefghijklmnopqrstuvwxyz"),
            id_token: Some(Secret::new(format!(
                "eyJ.{}.sig",
                "x".repeat(id_token_len.saturating_sub(8))
            ))),
            scopes: vec!["openid".into(), "offline_access".into(), "phone".into()],
            resources: vec!["https://api.example.test".into()],
            saved_at: 1_764_300_000,
        }
    }

    const EP: &str = "https://tenant.logto.app/";
    const APP: &str = "app1";

    fn store() -> EntryStore<FakeRaw> {
        EntryStore::new(FakeRaw::default())
    }

    #[test]
    fn account_is_readable_and_bounded() {
        assert_eq!(
            account("https://tenant.logto.app/", "app1"),
            "app1@https://tenant.logto.app"
        );
        let long = account(&format!("https://{}.example", "x".repeat(300)), "app1");
        assert!(
            long.starts_with("sha256:") && long.len() == 7 + 64,
            "{long}"
        );
        assert!(account("https://e.example/#frag", "a").starts_with("sha256:"));
    }

    #[test]
    fn small_record_is_one_plain_entry() {
        let s = store();
        assert_eq!(s.load(EP, APP).unwrap(), None);
        let r = record(900);
        s.save(EP, APP, &r).unwrap();
        assert_eq!(s.raw().names(), vec!["app1@https://tenant.logto.app"]);
        let raw = s
            .raw()
            .get("app1@https://tenant.logto.app")
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["scopes"][2], "phone");
        assert_eq!(s.load(EP, APP).unwrap(), Some(r));
        s.delete(EP, APP).unwrap();
        assert!(s.raw().names().is_empty());
        assert_eq!(s.load(EP, APP).unwrap(), None);
        // Deleting nothing is fine.
        s.delete(EP, APP).unwrap();
    }

    #[test]
    fn large_record_is_split_and_every_entry_fits() {
        let s = store();
        let r = record(6000);
        s.save(EP, APP, &r).unwrap();
        let head = "app1@https://tenant.logto.app";
        let names = s.raw().names();
        assert_eq!(
            names,
            vec![
                head.to_string(),
                format!("{head}#a1"),
                format!("{head}#a2"),
                format!("{head}#a3"),
            ]
        );
        for (_, v) in s.raw().entries.lock().unwrap().iter() {
            assert!(v.len() <= ENTRY_LIMIT);
        }
        // The head holds no secret.
        let head_text = String::from_utf8(s.raw().get(head).unwrap().unwrap()).unwrap();
        assert!(!head_text.contains("rt-SECRET"), "{head_text}");
        assert_eq!(s.load(EP, APP).unwrap(), Some(r.clone()));

        // The next large save goes to the other slot; the old parts go.
        let r2 = record(4500);
        s.save(EP, APP, &r2).unwrap();
        assert_eq!(
            s.raw().names(),
            vec![head.to_string(), format!("{head}#b1"), format!("{head}#b2")]
        );
        assert_eq!(s.load(EP, APP).unwrap(), Some(r2));

        // Shrinking back to one entry removes every part.
        let r3 = record(100);
        s.save(EP, APP, &r3).unwrap();
        assert_eq!(s.raw().names(), vec![head.to_string()]);
        assert_eq!(s.load(EP, APP).unwrap(), Some(r3));

        // Delete removes the head and all parts.
        s.save(EP, APP, &r).unwrap();
        assert_eq!(s.raw().names().len(), 4);
        s.delete(EP, APP).unwrap();
        assert!(s.raw().names().is_empty());
    }

    #[test]
    fn an_interrupted_write_keeps_the_previous_record() {
        let s = store();
        let head = "app1@https://tenant.logto.app";
        let r = record(6000);
        s.save(EP, APP, &r).unwrap();
        // Second part of the next save fails: an error, and the old record
        // still loads whole.
        *s.raw().fail_set.lock().unwrap() = Some(format!("{head}#b2"));
        let err = s.save(EP, APP, &record(7000)).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        assert_eq!(s.load(EP, APP).unwrap(), Some(r.clone()));
        // The head itself failing: same.
        *s.raw().fail_set.lock().unwrap() = Some(head.to_string());
        assert!(s.save(EP, APP, &record(100)).is_err());
        assert_eq!(s.load(EP, APP).unwrap(), Some(r));
        // Once the store works again, the leftovers are cleaned up.
        *s.raw().fail_set.lock().unwrap() = None;
        let r2 = record(200);
        s.save(EP, APP, &r2).unwrap();
        assert_eq!(s.raw().names(), vec![head.to_string()]);
        assert_eq!(s.load(EP, APP).unwrap(), Some(r2));
    }

    #[test]
    fn unreadable_records_are_corrupt_without_quoting_them() {
        let s = store();
        let head = "app1@https://tenant.logto.app";
        let corrupt = |s: &EntryStore<FakeRaw>| match s.load(EP, APP) {
            Err(StoreError::Corrupt(m)) => m,
            other => panic!("expected Corrupt, got {other:?}"),
        };

        s.raw().set(head, b"rt-SECRET not json").unwrap();
        let m = corrupt(&s);
        assert!(m.contains("not valid JSON") && !m.contains("SECRET"), "{m}");

        s.raw()
            .set(
                head,
                br#"{"v":1,"refresh_token":"rt-SECRET","saved_at":"rt-SECRET2"}"#,
            )
            .unwrap();
        let m = corrupt(&s);
        assert!(
            m.contains("not the expected fields") && !m.contains("SECRET"),
            "{m}"
        );

        s.raw()
            .set(head, br#"{"v":99,"refresh_token":"x","saved_at":1}"#)
            .unwrap();
        assert!(corrupt(&s).contains("version 99"));

        // A part missing, a part changed.
        s.save(EP, APP, &record(6000)).unwrap();
        let a2 = s.raw().get(&format!("{head}#a2")).unwrap().unwrap();
        s.raw().remove(&format!("{head}#a2")).unwrap();
        assert!(corrupt(&s).contains("part 2 of 3 is missing"));
        let mut changed = a2.clone();
        changed[10] = b'y';
        s.raw().set(&format!("{head}#a2"), &changed).unwrap();
        assert!(corrupt(&s).contains("do not match"));
        // The message a caller sees says what to do.
        let shown = s.load(EP, APP).unwrap_err().to_string();
        assert!(shown.contains("sign in again"), "{shown}");

        // Corrupt or not, delete clears everything, and a save replaces it.
        s.delete(EP, APP).unwrap();
        assert!(s.raw().names().is_empty());
        s.raw().set(head, b"garbage").unwrap();
        s.save(EP, APP, &record(6000)).unwrap();
        assert_eq!(s.load(EP, APP).unwrap(), Some(record(6000)));
    }

    #[test]
    fn splits_on_character_boundaries() {
        let s = store();
        let mut r = record(3000);
        r.scopes = (0..800).map(|i| format!("scope-é€-{i}")).collect();
        s.save(EP, APP, &r).unwrap();
        for (_, v) in s.raw().entries.lock().unwrap().iter() {
            assert!(v.len() <= ENTRY_LIMIT);
            assert!(std::str::from_utf8(v).is_ok());
        }
        assert_eq!(s.load(EP, APP).unwrap(), Some(r));
    }

    #[test]
    fn a_record_too_large_for_any_store_is_refused_before_writing() {
        let s = store();
        let r = record(ENTRY_LIMIT * MAX_PARTS + 10);
        let err = s.save(EP, APP, &r).unwrap_err().to_string();
        assert!(err.contains("more than the 16 keychain entries"), "{err}");
        assert!(s.raw().names().is_empty());
    }

    #[test]
    fn apps_do_not_see_each_other() {
        let s = store();
        s.save(EP, "a", &record(6000)).unwrap();
        s.save(EP, "b", &record(100)).unwrap();
        s.save("https://other.example", "a", &record(100)).unwrap();
        s.delete(EP, "a").unwrap();
        assert_eq!(s.load(EP, "a").unwrap(), None);
        assert_eq!(s.load(EP, "b").unwrap(), Some(record(100)));
        assert_eq!(
            s.load("https://other.example", "a").unwrap(),
            Some(record(100))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_size_round_trips(len in 0usize..20_000, scopes in proptest::collection::vec("\\PC{0,40}", 0..20)) {
            let s = store();
            let mut r = record(len);
            r.scopes = scopes;
            s.save(EP, APP, &r).unwrap();
            for (_, v) in s.raw().entries.lock().unwrap().iter() {
                proptest::prop_assert!(v.len() <= ENTRY_LIMIT);
            }
            proptest::prop_assert_eq!(s.load(EP, APP).unwrap(), Some(r));
            s.delete(EP, APP).unwrap();
            proptest::prop_assert!(s.raw().names().is_empty());
        }
    }
}
