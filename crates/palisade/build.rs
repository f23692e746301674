//! Link settings of the `palisade` binary.
//!
//! On GNU/Linux the binary is a position-independent executable whose pointers in static data
//! (vtables, string tables) are fixed up at load time. With the default relocation format the
//! loader reads a `.rela.dyn` table of about 5 MB, which then stays resident for the life of
//! the process (BENCHMARKS.md, "Issue 13, fourth pass"). `-z pack-relative-relocs` (binutils
//! 2.38+, glibc 2.36+) packs those relocations into a few kilobytes (`DT_RELR`); the binary
//! stays position-independent. Used only when the linker and the C library both support it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    if target_os == "linux" && target_env == "gnu" && native && linker_packs() && glibc_has_relr() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether `ld` knows `-z pack-relative-relocs`.
fn linker_packs() -> bool {
    Command::new("ld")
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("pack-relative-relocs"))
        .unwrap_or(false)
}

/// Whether the C library loads `DT_RELR` (glibc 2.36 and later).
fn glibc_has_relr() -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .trim()
        .trim_start_matches("glibc ")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
