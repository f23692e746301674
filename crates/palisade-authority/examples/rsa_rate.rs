//! Raw RSA-2048 RS256 (PKCS#1 v1.5, SHA-256) signatures per second with AWS-LC — the
//! library and key type the authority signs tokens with — on N threads, over a 900-byte
//! input (a token's size). The reference for the token rate in `scripts/bench-load.sh`,
//! printed beside `openssl speed -multi N rsa2048`.
//!
//! ```text
//! cargo run --release -p palisade-authority --example rsa_rate -- [SECONDS=10] [THREADS=2]
//! ```

use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let threads: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let row = palisade_authority::keys::generate_key(time::OffsetDateTime::now_utc())?;
    let key = Arc::new(RsaKeyPair::from_pkcs8(&row.private_key_der).map_err(|e| e.to_string())?);
    let input = "x".repeat(900);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (key, input) = (key.clone(), input.clone());
            std::thread::spawn(move || {
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let mut sig = vec![0u8; key.public_modulus_len()];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if key
                        .sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                        .is_ok()
                    {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    println!(
        "rsa2048_signatures={total} threads={threads} seconds={seconds} per_second={:.0}",
        total as f64 / seconds as f64
    );
    Ok(())
}
