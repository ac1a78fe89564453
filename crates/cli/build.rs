//! Links the `apogee` binary with its code laid out in the order it runs (code-order.txt,
//! written by scripts/code-order.sh): the functions start-up, idling and the hot paths run are
//! placed together, so the kernel maps a few megabytes of the binary instead of 64 KB windows
//! all over it; and with its relative relocations packed (DT_RELR). docs/PERFORMANCE.md,
//! "Code laid out in the order it runs".
//!
//! Each option is used only if a trial link of an empty program with this build's rustc,
//! flags and linker accepts it (lld and mold do; GNU ld does not know symbol ordering).
//! `APOGEE_CODE_ORDER=off` links without either.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=code-order.txt");
    for var in [
        "APOGEE_CODE_ORDER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let target = env::var("TARGET").unwrap_or_default();
    if env::var("APOGEE_CODE_ORDER").is_ok_and(|v| v == "off")
        || target != "x86_64-unknown-linux-gnu"
    {
        return;
    }
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let order = dir.join("code-order.txt");
    let ordering = [
        format!("-Wl,--symbol-ordering-file={}", order.display()),
        // A name the code no longer has is skipped, not reported: the file is regenerated
        // now and then, not on every change.
        "-Wl,--no-warn-symbol-ordering".to_owned(),
    ];
    if order.exists() && trial_link(&ordering) {
        for arg in ordering {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
    // 40,000 relative relocations (every pointer in a vtable or a static table, applied at
    // start) as a bitmap of a few KB instead of 24 bytes each: about 1 MB less to read at
    // every start. glibc reads them from 2.36 on, so only when the binary is built for the
    // machine it is built on and that machine's glibc is new enough (a binary built so needs
    // glibc 2.36 wherever it is copied; APOGEE_CODE_ORDER=off for one that must run on older).
    let relr = ["-Wl,-z,pack-relative-relocs".to_owned()];
    if host_glibc_at_least(2, 36) && trial_link(&relr) {
        println!("cargo:rustc-link-arg-bins={}", relr[0]);
    }
}

/// Whether an empty program links with `link_args` added, using this build's rustc, target,
/// rustflags and configured linker.
fn trial_link(link_args: &[String]) -> bool {
    let Ok(out_dir) = env::var("OUT_DIR") else {
        return false;
    };
    let out_dir = Path::new(&out_dir);
    let source = out_dir.join("trial_link.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.arg(&source)
        .arg("--crate-name")
        .arg("trial_link")
        .arg("--target")
        .arg(env::var("TARGET").unwrap_or_default())
        .arg("-o")
        .arg(out_dir.join("trial_link"));
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    cmd.args(flags.split('\u{1f}').filter(|f| !f.is_empty()));
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        let mut arg = std::ffi::OsString::from("linker=");
        arg.push(linker);
        cmd.arg("-C").arg(arg);
    }
    for arg in link_args {
        cmd.arg("-C").arg(format!("link-arg={arg}"));
    }
    cmd.output().is_ok_and(|out| out.status.success())
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
    let Some(version) = text.split_whitespace().nth(1) else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}
