//! Windows registry values through `reg.exe`: no extra crate, the same code
//! builds everywhere, and it only runs on Windows, where a plan has keys.

use std::io;
use std::process::Command;

/// `None` = no such key; `Some(None)` = key without a default value.
pub fn query_default(key: &str) -> io::Result<Option<Option<String>>> {
    let out = Command::new("reg").args(["query", key, "/ve"]).output()?;
    if !out.status.success() {
        // Exit 1: the key (or its default value) does not exist.
        let exists = Command::new("reg")
            .args(["query", key])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        return Ok(exists.then_some(None));
    }
    Ok(Some(parse_default(&String::from_utf8_lossy(&out.stdout))))
}

/// The value of `(Default)    REG_SZ    <value>` in `reg query` output
/// (the label is localized; the type is not).
pub fn parse_default(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| {
        let (_, rest) = l.split_once("REG_SZ")?;
        Some(rest.trim().to_string()).filter(|v| !v.is_empty())
    })
}

pub fn add_args(key: &str, value: &str) -> Vec<String> {
    ["add", key, "/ve", "/t", "REG_SZ", "/d", value, "/f"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

pub fn set_default(key: &str, value: &str) -> io::Result<()> {
    run(&add_args(key, value))
}

pub fn delete_key(key: &str) -> io::Result<()> {
    run(&["delete".to_string(), key.to_string(), "/f".to_string()])
}

fn run(args: &[String]) -> io::Result<()> {
    let out = Command::new("reg").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "reg {} failed: {}",
            args.first().map(String::as_str).unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_reg_query_output() {
        let out = "\r\nHKEY_CURRENT_USER\\SOFTWARE\\Google\\Chrome\\NativeMessagingHosts\\logto_companion\r\n    (Default)    REG_SZ    C:\\Users\\u\\AppData\\Local\\logto-companion\\x.json\r\n\r\n";
        assert_eq!(
            super::parse_default(out).as_deref(),
            Some(r"C:\Users\u\AppData\Local\logto-companion\x.json")
        );
        assert_eq!(
            super::parse_default("    (Standard)    REG_SZ    \r\n"),
            None
        );
        assert_eq!(
            super::add_args(r"HKEY_CURRENT_USER\K", r"C:\a b.json"),
            [
                "add",
                r"HKEY_CURRENT_USER\K",
                "/ve",
                "/t",
                "REG_SZ",
                "/d",
                r"C:\a b.json",
                "/f"
            ]
        );
    }
}
