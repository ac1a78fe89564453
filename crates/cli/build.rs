//! Links the `apogee` binary with its code laid out in the order it runs (code-order.txt,
//! written by scripts/code-order.sh): the functions start-up, idling and the hot paths run are
//! placed together, so the kernel maps a few megabytes of the binary instead of 64 KB windows
//! all over it; and with its relative relocations packed (DT_RELR). docs/PERFORMANCE.md,
//! "Code laid out in the order it runs".
//!
//! Only where the linker is surely lld: Rust 1.90 and later link x86_64-unknown-linux-gnu with
//! it unless told otherwise. `APOGEE_CODE_ORDER=off` links without either (another linker, say).

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=code-order.txt");
    println!("cargo:rerun-if-env-changed=APOGEE_CODE_ORDER");
    if env::var("APOGEE_CODE_ORDER").is_ok_and(|v| v == "off") || !linker_is_rust_lld() {
        return;
    }
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = std::path::Path::new(&dir).join("code-order.txt");
    if order.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // A name the code no longer has is skipped, not reported: the file is regenerated now
        // and then, not on every change.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    if host_glibc_at_least(2, 36) {
        // 40,000 relative relocations (every pointer in a vtable or a static table, applied at
        // start) as a bitmap of a few KB instead of 24 bytes each: about 1 MB less to read at
        // every start. glibc reads them from 2.36 on, so only when the binary is built for the
        // machine it is built on and that machine's glibc is new enough.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this build links with the lld Rust ships: the target Rust links with it by default
/// (1.90 on), no linker configured for the target, no linker flags in RUSTFLAGS.
fn linker_is_rust_lld() -> bool {
    if env::var("TARGET").unwrap_or_default() != "x86_64-unknown-linux-gnu"
        || env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("fuse-ld") {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .is_some_and(|v| version_at_least(v, 1, 90))
}

/// Whether the binary runs where it is built and that machine's glibc is `major.minor` or newer.
fn host_glibc_at_least(major: u32, minor: u32) -> bool {
    if env::var("HOST").ok() != env::var("TARGET").ok() {
        return false;
    }
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .is_some_and(|v| version_at_least(v, major, minor))
}

fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}
