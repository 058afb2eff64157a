//! The rules every row of the table must follow, checked while compiling:
//! a row with a duplicate id, an upper-case alias or a location that is not
//! a manifest folder does not build. `const fn`s, so the same rules also run
//! in the tests against rows made to break them.

use super::{Browser, Locations, BROWSERS};

// Evaluated by the compiler; a broken row stops the build with the message.
const _: () = {
    if let Some(problem) = problem(BROWSERS) {
        panic!("{}", problem);
    }
};

/// The first rule the rows break, if any.
pub const fn problem(rows: &[Browser]) -> Option<&'static str> {
    let mut i = 0;
    while i < rows.len() {
        let b = &rows[i];
        if let Some(p) = names_problem(rows, i) {
            return Some(p);
        }
        if let Some(p) = locations_problem(&b.linux) {
            return Some(p);
        }
        if let Some(p) = locations_problem(&b.macos) {
            return Some(p);
        }
        let mut k = 0;
        while k < b.windows.keys.len() {
            let key = b.windows.keys[k];
            if !starts_with(key, "SOFTWARE\\") || !ends_with(key, "\\NativeMessagingHosts") {
                return Some("a Windows key must be SOFTWARE\\…\\NativeMessagingHosts");
            }
            k += 1;
        }
        let mut f = 0;
        while f < b.flatpak.len() {
            if !is_manifest_folder(b.flatpak[f].dir) {
                return Some(
                    "a Flatpak folder must end in NativeMessagingHosts or native-messaging-hosts",
                );
            }
            f += 1;
        }
        let nowhere = b.linux.user.is_empty()
            && b.linux.system.is_empty()
            && b.macos.user.is_empty()
            && b.macos.system.is_empty()
            && b.windows.keys.is_empty();
        if nowhere {
            return Some("a browser must have a manifest location on some OS");
        }
        i += 1;
    }
    None
}

/// Row `i`'s id and aliases: lower case, not `all`/`none`, and used by no
/// earlier name (of this row or another).
const fn names_problem(rows: &[Browser], i: usize) -> Option<&'static str> {
    let b = &rows[i];
    let mut n = 0;
    while n <= b.aliases.len() {
        let name = name_at(b, n);
        if name.is_empty() || !is_lower(name) {
            return Some("ids and aliases must be non-empty lower case");
        }
        if str_eq(name, "all") || str_eq(name, "none") {
            return Some("\"all\" and \"none\" are --browser keywords, not names");
        }
        // Every name before this one: the earlier rows', then this row's.
        let mut j = 0;
        while j <= i {
            let other = &rows[j];
            let count = if j < i { other.aliases.len() + 1 } else { n };
            let mut m = 0;
            while m < count {
                if str_eq(name, name_at(other, m)) {
                    return Some("an id or alias is used twice");
                }
                m += 1;
            }
            j += 1;
        }
        n += 1;
    }
    None
}

/// Name `n` of a row: 0 is the id, then the aliases.
const fn name_at(b: &Browser, n: usize) -> &'static str {
    if n == 0 {
        b.id
    } else {
        b.aliases[n - 1]
    }
}

const fn locations_problem(l: &Locations) -> Option<&'static str> {
    let mut i = 0;
    while i < l.user.len() {
        let t = l.user[i];
        if !starts_with(t, "~/") && !starts_with(t, "$XDG_") {
            return Some("a per-user location must start with ~/ or $XDG_");
        }
        if !is_manifest_folder(t) {
            return Some("a location must end in NativeMessagingHosts or native-messaging-hosts");
        }
        i += 1;
    }
    let mut i = 0;
    while i < l.system.len() {
        let t = l.system[i];
        if !starts_with(t, "/") && !starts_with(t, "?/") {
            return Some("a system location must be absolute (optionally after ?)");
        }
        if !is_manifest_folder(t) {
            return Some("a location must end in NativeMessagingHosts or native-messaging-hosts");
        }
        i += 1;
    }
    None
}

const fn is_manifest_folder(dir: &str) -> bool {
    ends_with(dir, "NativeMessagingHosts") || ends_with(dir, "native-messaging-hosts")
}

const fn is_lower(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_uppercase() {
            return false;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && starts_with(a, b)
}

const fn starts_with(s: &str, prefix: &str) -> bool {
    let (s, p) = (s.as_bytes(), prefix.as_bytes());
    if p.len() > s.len() {
        return false;
    }
    let mut i = 0;
    while i < p.len() {
        if s[i] != p[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn ends_with(s: &str, suffix: &str) -> bool {
    let (s, x) = (s.as_bytes(), suffix.as_bytes());
    if x.len() > s.len() {
        return false;
    }
    let off = s.len() - x.len();
    let mut i = 0;
    while i < x.len() {
        if s[off + i] != x[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::{Family, Flatpak, WinLocations, NOWHERE, NO_KEYS};
    use super::*;

    const fn row(id: &'static str, aliases: &'static [&'static str]) -> Browser {
        Browser {
            id,
            name: "Test",
            aliases,
            family: Family::Chromium,
            linux: Locations {
                user: &["$XDG_CONFIG_HOME/test/NativeMessagingHosts"],
                system: &["/etc/test/native-messaging-hosts"],
                detect: &[],
                bins: &[],
            },
            macos: NOWHERE,
            windows: NO_KEYS,
            flatpak: &[],
            snap: &[],
            note: "",
            no_user_dir: "",
        }
    }

    #[test]
    fn the_table_follows_every_rule() {
        assert_eq!(problem(BROWSERS), None);
        assert_eq!(problem(&[row("a", &["b"]), row("c", &[])]), None);
    }

    #[test]
    fn a_name_used_twice_is_refused_within_and_across_rows() {
        let twice = Some("an id or alias is used twice");
        assert_eq!(problem(&[row("a", &["a"])]), twice);
        assert_eq!(problem(&[row("a", &["b"]), row("c", &["b"])]), twice);
        assert_eq!(problem(&[row("a", &[]), row("a", &[])]), twice);
        assert_eq!(
            problem(&[row("Chrome", &[])]),
            Some("ids and aliases must be non-empty lower case")
        );
        assert!(problem(&[row("none", &[])]).is_some());
    }

    #[test]
    fn a_location_that_is_not_a_manifest_folder_is_refused() {
        let mut b = row("a", &[]);
        b.linux.user = &["/home/x/NativeMessagingHosts"];
        assert!(problem(&[b]).unwrap().contains("per-user"));
        let mut b = row("a", &[]);
        b.linux.system = &["/etc/test/hosts"];
        assert!(problem(&[b]).unwrap().contains("must end in"));
        let mut b = row("a", &[]);
        b.windows = WinLocations {
            keys: &[r"SOFTWARE\Test"],
            detect: &[],
        };
        assert!(problem(&[b]).unwrap().contains("Windows key"));
        let mut b = row("a", &[]);
        b.flatpak = &[Flatpak {
            app_id: "t.T",
            dir: "config/test",
        }];
        assert!(problem(&[b]).unwrap().contains("Flatpak"));
        let mut b = row("a", &[]);
        b.linux = NOWHERE;
        assert!(problem(&[b]).unwrap().contains("some OS"));
    }
}
