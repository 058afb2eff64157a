//! Benchmarks against the physical limit (`cargo bench --bench companion`,
//! or `scripts/bench`, which also writes docs/performance.md).
//!
//! Every figure is measured side by side with its baseline in the same run
//! and reported as medians, p99 and a ratio. Nothing here asserts a time.
//!
//! Baselines: `examples/echo_host.rs` (a bare host answering on the same
//! stdio framing) and a trivial process start (`/bin/true`).

#[path = "../tests/it/common/mod.rs"]
#[allow(dead_code)] // the bench uses a few of the suites' helpers
mod common;

use common::session::{setup, API};
use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A native-messaging peer driven synchronously (no reader thread, so the
/// measurement is the pipe round trip and nothing else).
struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl Peer {
    fn spawn(mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        Peer {
            child,
            stdin,
            stdout,
        }
    }

    fn roundtrip(&mut self, body: &[u8]) -> Value {
        let mut frame = (body.len() as u32).to_ne_bytes().to_vec();
        frame.extend_from_slice(body);
        self.stdin.write_all(&frame).unwrap();
        self.stdin.flush().unwrap();
        loop {
            let mut len = [0u8; 4];
            self.stdout.read_exact(&mut len).unwrap();
            let mut reply = vec![0u8; u32::from_ne_bytes(len) as usize];
            self.stdout.read_exact(&mut reply).unwrap();
            let v: Value = serde_json::from_slice(&reply).unwrap();
            if v.get("event").is_none() {
                return v;
            }
        }
    }

    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|n| n.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

#[derive(Clone)]
struct Stats {
    median_us: f64,
    p99_us: f64,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let n = samples.len();
    Stats {
        median_us: us(samples[n / 2]),
        p99_us: us(samples[((n as f64 * 0.99) as usize).min(n - 1)]),
        n,
    }
}

fn time_roundtrips(peer: &mut Peer, body: &[u8], iters: usize) -> Stats {
    for _ in 0..(iters / 10).max(10) {
        peer.roundtrip(body); // warm-up
    }
    let samples = (0..iters)
        .map(|_| {
            let t = Instant::now();
            peer.roundtrip(body);
            t.elapsed()
        })
        .collect();
    stats(samples)
}

fn echo_host() -> PathBuf {
    let exe = PathBuf::from(common::BIN);
    let p = exe.parent().unwrap().join("examples/echo_host");
    assert!(
        p.exists(),
        "build the baseline first: cargo build --release --example echo_host ({})",
        p.display()
    );
    p
}

struct Row {
    figure: String,
    ours: String,
    baseline: String,
    ratio: String,
    note: String,
}

fn row(figure: &str, ours: &Stats, base: &Stats, note: &str) -> Row {
    Row {
        figure: figure.into(),
        ours: format!(
            "{:.1} µs (p99 {:.1}, n={})",
            ours.median_us, ours.p99_us, ours.n
        ),
        baseline: format!("{:.1} µs (p99 {:.1})", base.median_us, base.p99_us),
        ratio: format!("{:.2}×", ours.median_us / base.median_us),
        note: note.into(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let iters = env_usize("BENCH_ITERS", 10_000);
    let starts = env_usize("BENCH_STARTS", 200);
    let mut rows = Vec::new();
    let mut extra = Vec::new();

    let s = setup(None, "");
    let mut ext = s.host();
    s.sign_in(&mut ext);

    // 1. Round trips on an open port.
    let mut ours = Peer::spawn({
        let mut c = s.env.command();
        c.arg(EXT_ORIGIN);
        c
    });
    let hello = serde_json::to_vec(&json!({"id": 0, "method": "hello", "params": {"app": {"endpoint": s.idp.endpoint, "appId": APP_ID}}})).unwrap();
    assert!(ours.roundtrip(&hello).get("result").is_some());
    let mut echo = Peer::spawn(Command::new(echo_host()));
    let ping = br#"{"id":1,"method":"ping"}"#;
    let get = serde_json::to_vec(
        &json!({"id": 2, "method": "getAccessToken", "params": {"resource": API}}),
    )
    .unwrap();
    assert!(ours.roundtrip(&get)["result"]["accessToken"].is_string());
    let base = time_roundtrips(&mut echo, ping, iters);
    let p = time_roundtrips(&mut ours, ping, iters);
    let g = time_roundtrips(&mut ours, &get, iters);
    let base_get = time_roundtrips(&mut echo, &get, iters);
    rows.push(row(
        "ping round trip (host → daemon → host)",
        &p,
        &base,
        "two extra socket hops + daemon task; target ≤ 1.3×",
    ));
    rows.push(row(
        "cached getAccessToken round trip",
        &g,
        &base_get,
        "ping + session lookup + a ~1 KB JWT reply",
    ));
    let host_rss = ours.rss_kib();

    // 2. Process start to first reply (what every connectNative costs).
    let mut ours_start = Vec::new();
    let mut base_start = Vec::new();
    for _ in 0..starts {
        let t = Instant::now();
        let mut h = Peer::spawn({
            let mut c = s.env.command();
            c.arg(EXT_ORIGIN);
            c
        });
        h.roundtrip(ping);
        ours_start.push(t.elapsed());
        drop(h);
        let t = Instant::now();
        let mut e = Peer::spawn(Command::new(echo_host()));
        e.roundtrip(ping);
        base_start.push(t.elapsed());
    }
    let os = stats(ours_start);
    let bs = stats(base_start);
    rows.push(row(
        "process start → first reply (daemon running)",
        &os,
        &bs,
        &format!(
            "added {:.2} ms; target ≤ 5 ms",
            (os.median_us - bs.median_us) / 1e3
        ),
    ));

    // 4. `logto-companion token` (cached) vs the floor: a trivial process.
    let mut tok = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..starts {
        let t = Instant::now();
        let out = s
            .env
            .command()
            .args(["token", "--resource", API])
            .output()
            .unwrap();
        tok.push(t.elapsed());
        assert!(out.status.success());
        let t = Instant::now();
        Command::new("/bin/true").status().unwrap();
        floor.push(t.elapsed());
    }
    let ts = stats(tok);
    let fs = stats(floor);
    rows.push(row(
        "`logto-companion token --resource` (cached)",
        &ts,
        &fs,
        "process start + config read + one pipelined hello/getAccessToken",
    ));

    // 5. Refresh storm: N requests over M connections with an expired token.
    drop(ours);
    let storm_n = env_usize("BENCH_STORM_N", 200);
    let storm_m = env_usize("BENCH_STORM_M", 10);
    let storm = {
        let idp_cfg = json!({"resources": [{"indicator": API, "scopes": ["read:items"], "accessTokenTtl": 1}]});
        let st = setup(Some(idp_cfg), "");
        let mut a = st.host();
        st.sign_in(&mut a);
        a.call("getAccessToken", json!({"resource": API}));
        let mut hosts: Vec<Host> = (0..storm_m).map(|_| st.host()).collect();
        std::thread::sleep(Duration::from_millis(1100));
        let before = st.idp.token_requests("refresh_token");
        let t = Instant::now();
        for (i, h) in hosts.iter_mut().enumerate() {
            for j in 0..storm_n / storm_m {
                h.send(&json!({"id": i * 10_000 + j, "method": "getAccessToken", "params": {"resource": API}}));
            }
        }
        for h in hosts.iter_mut() {
            for _ in 0..storm_n / storm_m {
                assert!(h.recv_reply()["result"]["accessToken"].is_string());
            }
        }
        let elapsed = t.elapsed();
        (st.idp.token_requests("refresh_token") - before, elapsed)
    };
    extra.push(format!(
        "| refresh storm: {storm_n} concurrent getAccessToken over {storm_m} connections, token expired | {} refresh request(s) at the IdP; all answered in {:.1} ms | must be 1 |",
        storm.0,
        storm.1.as_secs_f64() * 1e3
    ));

    // 6. Memory: 3 signed-in apps and 20 connections.
    drop(ext);
    drop(s);
    let apps = ["native-test-app", "app-two", "app-three"];
    let clients: Vec<Value> = apps
        .iter()
        .map(|id| json!({"client_id": id, "redirect_uris": ["http://127.0.0.1/callback"], "post_logout_redirect_uris": ["http://127.0.0.1/logout-callback"]}))
        .collect();
    let m = setup(Some(json!({"clients": clients})), "");
    let mut cfg = format!(
        "store = \"{}\"\nidle_timeout_secs = 120\n",
        common::keyring::store()
    );
    for id in apps {
        cfg.push_str(&format!(
            "[[apps]]\nendpoint = \"{}\"\napp_id = \"{id}\"\nallowed_origins = [\"{EXT_ORIGIN}\"]\nresources = [\"{API}\"]\n",
            m.idp.endpoint
        ));
    }
    m.env.write_config(&cfg);
    let mut idle_probe = m.env.host(EXT_ORIGIN);
    idle_probe.call("ping", json!(null));
    let daemon_pid = m.env.daemon_pid().unwrap() as u32;
    std::thread::sleep(Duration::from_millis(200));
    let idle = rss_kib(daemon_pid);
    let mut conns = Vec::new();
    for id in apps {
        let mut h = m.env.host(EXT_ORIGIN);
        assert!(h.hello(&m.idp.endpoint, id).get("result").is_some());
        m.sign_in(&mut h);
        assert!(
            h.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"].is_string()
        );
        conns.push(h);
    }
    while conns.len() < 20 {
        let mut h = m.env.host(EXT_ORIGIN);
        h.hello(&m.idp.endpoint, apps[conns.len() % 3]);
        conns.push(h);
    }
    std::thread::sleep(Duration::from_millis(200));
    let busy = rss_kib(daemon_pid);
    drop(conns);
    extra.push(format!("| memory: daemon RSS | idle {idle} KiB; {busy} KiB with 3 signed-in apps and 20 connections | |"));
    extra.push(format!("| memory: host RSS | {host_rss} KiB | |"));
    let echo_rss = echo.rss_kib();
    extra.push(format!(
        "| memory: bare echo host RSS (baseline) | {echo_rss} KiB | |"
    ));

    println!("| figure | ours | baseline | ratio | note |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.figure, r.ours, r.baseline, r.ratio, r.note
        );
    }
    println!();
    println!("| figure | result | expectation |");
    println!("|---|---|---|");
    for e in &extra {
        println!("{e}");
    }
}
