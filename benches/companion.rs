//! Benchmarks against the physical limit (`cargo bench --bench companion`,
//! or `scripts/bench`, which also writes docs/performance.md).
//!
//! Every figure is measured side by side with its baseline in the same run
//! and reported as medians, p99 and a ratio. Nothing here asserts a time.
//!
//! Baselines, measured in the same run:
//! - `benches/echo_host.c`, compiled here with `cc -O2`: a bare host in C
//!   answering on the same stdio framing — the physical limit;
//! - `examples/echo_host.rs`, the same in Rust (for reference);
//! - `/bin/true`: a trivial process start, the floor of any CLI.
//!
//! It also reports the thin binary's size, relocation count and RSS: the
//! start-up cost of a process is mostly the dynamic loader's work on it.

#[path = "../tests/it/common/mod.rs"]
#[allow(dead_code)] // the bench uses a few of the suites' helpers
mod common;
#[path = "support/oidc_agent.rs"]
mod oidc_agent;

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

/// Pools the samples of several blocks (medians of the whole run).
fn merge(blocks: Vec<Vec<Duration>>) -> Stats {
    stats(blocks.into_iter().flatten().collect())
}

fn time_roundtrips(peer: &mut Peer, body: &[u8], iters: usize) -> Vec<Duration> {
    for _ in 0..(iters / 10).max(10) {
        peer.roundtrip(body); // warm-up
    }
    (0..iters)
        .map(|_| {
            let t = Instant::now();
            peer.roundtrip(body);
            t.elapsed()
        })
        .collect()
}

fn echo_host() -> PathBuf {
    let exe = PathBuf::from(&*common::BIN);
    let p = exe.parent().unwrap().join("examples/echo_host");
    assert!(
        p.exists(),
        "build the baseline first: cargo build --release --example echo_host ({})",
        p.display()
    );
    p
}

/// `benches/echo_host.c`: the physical limit of a host on stdio.
fn c_echo_host() -> PathBuf {
    compile_c("echo_host.c", "bench-echo-host-c")
}

/// Compiles one of the C baselines in `benches/` next to the binaries.
fn compile_c(source: &str, name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(&*common::BIN).with_file_name(name);
    let status = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&out)
        .arg(root.join("benches").join(source))
        .status()
        .expect("cc (the C compiler) is needed for the C baselines");
    assert!(status.success(), "cc failed on benches/{source}");
    out
}

/// Ping round trips straight over a Unix socket, after a handshake frame
/// (the daemon's `connect`; the C socket echo skips it too).
fn socket_roundtrips(sock: &std::path::Path, iters: usize) -> Vec<Duration> {
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    let frame = |body: &[u8]| {
        let mut f = (body.len() as u32).to_ne_bytes().to_vec();
        f.extend_from_slice(body);
        f
    };
    s.write_all(&frame(
        br#"{"connect":{"origin":"cli","client":"bench","pid":1}}"#,
    ))
    .unwrap();
    let ping = frame(br#"{"id":1,"method":"ping"}"#);
    let mut buf = vec![0u8; 65536];
    let mut one = |s: &mut std::os::unix::net::UnixStream| {
        s.write_all(&ping).unwrap();
        let mut len = [0u8; 4];
        s.read_exact(&mut len).unwrap();
        let n = u32::from_ne_bytes(len) as usize;
        s.read_exact(&mut buf[..n]).unwrap();
    };
    for _ in 0..(iters / 10).max(10) {
        one(&mut s);
    }
    (0..iters)
        .map(|_| {
            let t = Instant::now();
            one(&mut s);
            t.elapsed()
        })
        .collect()
}

/// Starts `echo_socket <path> <mode>` and waits for it to listen.
fn socket_echo(bin: &std::path::Path, dir: &std::path::Path, mode: &str) -> (Child, PathBuf) {
    let sock = dir.join(format!("echo-{mode}.sock"));
    let mut child = Command::new(bin)
        .arg(&sock)
        .arg(mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 6];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut line)
        .unwrap();
    assert_eq!(&line, b"ready\n");
    (child, sock)
}

/// Dynamic relocations the loader applies at every start (`readelf -r`).
fn relocations(bin: &std::path::Path) -> usize {
    let out = Command::new("readelf")
        .arg("-rW")
        .arg(bin)
        .output()
        .expect("readelf (binutils)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("R_X86_64_") || l.contains("R_AARCH64_"))
        .count()
}

/// "static-pie" when the binary asks for no program interpreter (no
/// dynamic loader runs at its start), else "dynamic".
fn linking(bin: &std::path::Path) -> &'static str {
    let out = Command::new("readelf")
        .arg("-lW")
        .arg(bin)
        .output()
        .expect("readelf (binutils)");
    if String::from_utf8_lossy(&out.stdout).contains("INTERP") {
        "dynamic"
    } else {
        "static"
    }
}

fn size_kib(bin: &std::path::Path) -> u64 {
    std::fs::metadata(bin).map(|m| m.len() / 1024).unwrap_or(0)
}

struct Row {
    figure: String,
    ours: String,
    baseline: String,
    ratio: String,
    goal: String,
    note: String,
}

/// One figure against its baseline; `goal` is the ratio aimed at (the
/// report says whether this run met it; nothing fails on it).
fn row(figure: &str, ours: &Stats, base: &Stats, goal: Option<f64>, note: &str) -> Row {
    let ratio = ours.median_us / base.median_us;
    Row {
        figure: figure.into(),
        ours: format!(
            "{:.1} µs (p99 {:.1}, n={})",
            ours.median_us, ours.p99_us, ours.n
        ),
        baseline: format!("{:.1} µs (p99 {:.1})", base.median_us, base.p99_us),
        ratio: format!("{ratio:.2}×"),
        goal: goal_text(ratio, goal),
        note: note.into(),
    }
}

fn goal_text(ratio: f64, goal: Option<f64>) -> String {
    match goal {
        Some(g) if ratio <= g => format!("≤ {g}× — met"),
        Some(g) => format!("≤ {g}× — not met"),
        None => String::new(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let iters = env_usize("BENCH_ITERS", 10_000);
    let starts = env_usize("BENCH_STARTS", 1000);
    let mut rows = Vec::new();
    let mut extra = Vec::new();

    // The test IdP as the suites run it, plus the client oidc-agent needs.
    let mut idp_config: Value = serde_json::from_str(
        &std::fs::read_to_string(common::idp::idp_dir().join("config/default.json")).unwrap(),
    )
    .unwrap();
    idp_config["clients"]
        .as_array_mut()
        .unwrap()
        .push(oidc_agent::client());
    idp_config["deviceInterval"] = json!(1);
    let s = setup(Some(idp_config), "");
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
    let c_echo_bin = c_echo_host();
    let mut echo = Peer::spawn(Command::new(echo_host()));
    let mut c_echo = Peer::spawn(Command::new(&c_echo_bin));
    let ping = br#"{"id":1,"method":"ping"}"#;
    let get = serde_json::to_vec(
        &json!({"id": 2, "method": "getAccessToken", "params": {"resource": API}}),
    )
    .unwrap();
    assert!(ours.roundtrip(&get)["result"]["accessToken"].is_string());
    assert_eq!(c_echo.roundtrip(ping)["result"]["pong"], true);
    // The floor of the design itself: a C relay host (one blocking thread
    // per direction, like ours) in front of a C event-loop socket server.
    let sock_echo = compile_c("echo_socket.c", "bench-echo-socket-c");
    let relay = compile_c("relay_host.c", "bench-relay-host-c");
    let scratch = tempfile::tempdir().unwrap();
    let (mut blocking, blocking_sock) = socket_echo(&sock_echo, scratch.path(), "blocking");
    let (mut evloop, evloop_sock) = socket_echo(&sock_echo, scratch.path(), "epoll");
    let (mut relay_server, relay_sock) = {
        let dir = scratch.path().join("relay");
        std::fs::create_dir_all(&dir).unwrap();
        socket_echo(&sock_echo, &dir, "epoll")
    };
    let mut floor = Peer::spawn({
        let mut c = Command::new(&relay);
        c.arg(&relay_sock);
        c
    });
    assert_eq!(floor.roundtrip(ping)["result"]["pong"], true);
    // Interleaved in blocks, so a slow phase of the machine hits all.
    let (mut p, mut base, mut rust_base, mut g, mut base_get, mut design) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for _ in 0..5 {
        p.push(time_roundtrips(&mut ours, ping, iters / 5));
        base.push(time_roundtrips(&mut c_echo, ping, iters / 5));
        rust_base.push(time_roundtrips(&mut echo, ping, iters / 5));
        design.push(time_roundtrips(&mut floor, ping, iters / 5));
        g.push(time_roundtrips(&mut ours, &get, iters / 5));
        base_get.push(time_roundtrips(&mut c_echo, &get, iters / 5));
    }
    drop(floor);
    let _ = (relay_server.kill(), relay_server.wait());
    let (p, base, rust_base, g, base_get, design) = (
        merge(p),
        merge(base),
        merge(rust_base),
        merge(g),
        merge(base_get),
        merge(design),
    );
    rows.push(row(
        "ping round trip (host → daemon → host)",
        &p,
        &base,
        Some(2.5),
        &format!(
            "C echo host (Rust echo: {:.1} µs, {:.2}×)",
            rust_base.median_us,
            p.median_us / rust_base.median_us
        ),
    ));
    rows.push(row(
        "ping round trip, against the design's floor",
        &p,
        &design,
        None,
        "a C relay host (a blocking thread per direction, as ours) in front of a C event-loop socket server: the same two extra hops with nothing else",
    ));
    rows.push(row(
        "cached getAccessToken round trip",
        &g,
        &base_get,
        None,
        "C echo host; ping + session lookup + a ~1 KB JWT reply",
    ));
    // Where the round trip goes: the daemon hop alone, next to C servers on
    // a Unix socket, blocking and with an event loop (what any daemon
    // serving many clients runs).
    let daemon_sock = s.env.runtime_dir().join("daemon.sock");
    let (mut d, mut cb, mut ce) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        d.push(socket_roundtrips(&daemon_sock, iters / 5));
        cb.push(socket_roundtrips(&blocking_sock, iters / 5));
        ce.push(socket_roundtrips(&evloop_sock, iters / 5));
    }
    let _ = (
        blocking.kill(),
        evloop.kill(),
        blocking.wait(),
        evloop.wait(),
    );
    let (d, cb, ce) = (merge(d), merge(cb), merge(ce));
    rows.push(row(
        "daemon hop alone: ping over its socket (no host)",
        &d,
        &ce,
        None,
        &format!(
            "C event-loop (epoll) socket server; a blocking C socket server: {:.1} µs. The host relay adds {:.1} µs on top of this hop",
            cb.median_us,
            p.median_us - d.median_us
        ),
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
        let mut e = Peer::spawn(Command::new(&c_echo_bin));
        e.roundtrip(ping);
        base_start.push(t.elapsed());
    }
    let os = stats(ours_start);
    let bs = stats(base_start);
    rows.push(row(
        "process start → first reply (daemon running)",
        &os,
        &bs,
        Some(1.2),
        &format!(
            "C echo host; added {:.2} ms: the thin binary's start, connect, one hop each way",
            (os.median_us - bs.median_us) / 1e3
        ),
    ));

    // 4. `logto-companion token` (cached) vs the floor: a trivial process,
    // and vs oidc-agent's `oidc-token` when it can be set up.
    let agent = oidc_agent::OidcAgent::setup(&s.idp);
    let mut tok = Vec::new();
    let mut floor = Vec::new();
    let mut other = Vec::new();
    for _ in 0..starts {
        if let Ok(a) = &agent {
            let t = Instant::now();
            let st = a.token_command().stdout(Stdio::null()).status().unwrap();
            other.push(t.elapsed());
            assert!(st.success());
        }
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
        Some(1.6),
        "`/bin/true`; process start + one pipelined hello/getAccessToken, no config read",
    ));
    match &agent {
        Ok(a) => {
            let os = stats(other);
            let mut r = row(
                "oidc-agent's `oidc-token` (cached), for comparison",
                &os,
                &fs,
                None,
                &format!(
                    "`/bin/true`; {} (C), an account made with the device flow against the same IdP",
                    a.version
                ),
            );
            r.ours = format!("{} (theirs)", r.ours);
            rows.push(r);
            rows.push(row(
                "`logto-companion token` against `oidc-token`",
                &ts,
                &os,
                Some(1.0),
                "oidc-agent's `oidc-token`, same run (ratio < 1: ours is faster)",
            ));
        }
        Err(why) => extra.push(format!(
            "| oidc-agent's `oidc-token` | not measured: {why} | |"
        )),
    }
    drop(agent);

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
    let c_echo_rss = c_echo.rss_kib();
    let rust_echo_rss = echo.rss_kib();
    let rss_ratio = host_rss as f64 / c_echo_rss.max(1) as f64;
    rows.push(Row {
        figure: "host RSS (open port, after the round trips)".into(),
        ours: format!("{host_rss} KiB"),
        baseline: format!("{c_echo_rss} KiB"),
        ratio: format!("{rss_ratio:.2}×"),
        goal: goal_text(rss_ratio, Some(3.0)),
        note: format!("C echo host (Rust echo: {rust_echo_rss} KiB)"),
    });
    let thin = PathBuf::from(&*common::BIN);
    let daemon = PathBuf::from(common::DAEMON_BIN);
    let mut binaries = Vec::new();
    for (what, bin) in [
        ("thin `logto-companion` (host, token, status, ping)", &thin),
        ("`logto-companion-daemon` (everything else)", &daemon),
        ("C echo host (baseline)", &c_echo_bin),
    ] {
        binaries.push(format!(
            "| {what} | {} KiB | {} | {} |",
            size_kib(bin),
            relocations(bin),
            linking(bin)
        ));
    }

    println!("| figure | ours | baseline | ratio | goal | baseline, note |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.figure, r.ours, r.baseline, r.ratio, r.goal, r.note
        );
    }
    println!();
    println!("| binary | size | relocations | linking |");
    println!("|---|---|---|---|");
    for b in &binaries {
        println!("{b}");
    }
    println!();
    println!("| figure | result | expectation |");
    println!("|---|---|---|");
    for e in &extra {
        println!("{e}");
    }
}
