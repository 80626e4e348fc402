//! Where things are: the repository root and the build output folders.

use std::path::{Path, PathBuf};

/// The repository (workspace) root, found — so `umbra` works from any
/// directory — from, in order: `$UMBRA_ROOT`; the ancestors of the running
/// binary (`<root>/target/release/umbra`); the source location this binary
/// was compiled from; `git rev-parse --show-toplevel` in the current folder.
pub fn repo_root() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(r) = std::env::var_os("UMBRA_ROOT").filter(|v| !v.is_empty()) {
        candidates.push(r.into());
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    if let Ok(out) = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .output()
    {
        if out.status.success() {
            candidates.push(String::from_utf8_lossy(&out.stdout).trim().into());
        }
    }
    candidates
        .into_iter()
        .find(|c| is_repo_root(c))
        .map(|c| c.canonicalize().unwrap_or(c))
        .ok_or_else(|| {
            "cannot find the Umbra repository (set UMBRA_ROOT to its folder)".to_string()
        })
}

fn is_repo_root(p: &Path) -> bool {
    p.join("Cargo.toml").is_file() && p.join("frontend/Cargo.toml").is_file()
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` (relative to the root) or
/// `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(t) => root.join(t),
        None => root.join("target"),
    }
}

/// The front-end's own output folder: `<target>/umbra`.
pub fn umbra_dir(root: &Path) -> PathBuf {
    target_dir(root).join("umbra")
}

/// `cargo` to run: `$CARGO` (set when we run under cargo) or `cargo`.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "cargo".into())
}
