//! Small helpers every layer uses, kept in one place so the pattern is
//! written once.

use std::sync::{Mutex, MutexGuard};

/// Appends `item` unless an equal one is already there: lists of scopes,
/// resources, origins and paths keep their first-seen order and never hold
/// a duplicate.
pub fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Locks a mutex, taking the data of a poisoned one: a panic in one task
/// must not take every later request down with it, and none of our locks
/// guards an invariant that a half-done update could break.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `println!` for `install` and `uninstall`, whose output must not decide
/// their outcome: a reader that left (`logto-companion uninstall | head -1`)
/// loses the rest of the lines, and the command still does all its work
/// and ends with the exit code of that work, where `println!` would panic
/// half-way (exit 101).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_unique_keeps_first_seen_order_without_duplicates() {
        let mut v = vec!["a".to_string()];
        push_unique(&mut v, "b".to_string());
        push_unique(&mut v, "a".to_string());
        push_unique(&mut v, "b".to_string());
        assert_eq!(v, ["a", "b"]);
    }

    #[test]
    fn lock_recovers_a_poisoned_mutex() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
