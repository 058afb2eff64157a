//! Fuzzes the frame decoder with arbitrary byte streams and caps.
//!
//!   cargo install cargo-fuzz
//!   cd fuzz && cargo fuzz run decoder --sanitizer none -- -max_total_time=60 -rss_limit_mb=256
//!
//! Runs on stable (`--sanitizer none`). The RSS limit holds because the
//! decoder checks the announced length against the cap before allocating.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logto_companion::codec;

fuzz_target!(|data: &[u8]| {
    let Some((&cap_byte, stream)) = data.split_first() else { return };
    // Caps from 0 to 64 KiB, and the real default.
    let cap = if cap_byte == 0xFF { codec::DEFAULT_MAX_INBOUND } else { usize::from(cap_byte) * 256 };
    let mut reader = std::io::Cursor::new(stream);
    loop {
        match codec::read_frame(&mut reader, cap) {
            Ok(Some(body)) => assert!(body.len() <= cap),
            Ok(None) => break,
            Err(codec::FrameError::TooLarge { len, .. }) => {
                assert!(len > cap as u64);
                break;
            }
            Err(_) => break,
        }
    }
});
