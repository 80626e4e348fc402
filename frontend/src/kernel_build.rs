//! Builds the kernel ELF with cargo and wraps it into a bzImage.

use crate::paths;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const KERNEL_PACKAGE: &str = "umbra-kernel";
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";

/// The cargo arguments that build the kernel for its bare-metal target.
pub fn cargo_args(quiet: bool) -> Vec<&'static str> {
    let mut a = vec![
        "build",
        "--release",
        "-p",
        KERNEL_PACKAGE,
        "--target",
        KERNEL_TARGET,
        "-Zbuild-std=core,alloc,compiler_builtins",
        "-Zbuild-std-features=compiler-builtins-mem",
    ];
    if quiet {
        a.push("-q");
    }
    a
}

/// Builds `<target>/umbra/bzImage` and returns its path. Cargo's output
/// goes to stderr (stdout belongs to the guest console).
pub fn build(root: &Path, quiet: bool) -> Result<PathBuf, String> {
    let stdout_to_stderr = stderr_stdio();
    let status = Command::new(paths::cargo())
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(cargo_args(quiet))
        .stdout(stdout_to_stderr)
        .status()
        .map_err(|e| format!("cannot run cargo: {e} (run scripts/setup.sh)"))?;
    if !status.success() {
        return Err(format!("kernel build failed ({status})"));
    }
    let elf_path = paths::target_dir(root)
        .join(KERNEL_TARGET)
        .join("release")
        .join(KERNEL_PACKAGE);
    let elf = std::fs::read(&elf_path).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let image = umbra_image::build_bzimage(&elf).map_err(|e| format!("making the bzImage: {e}"))?;
    let dir = paths::umbra_dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("bzImage");
    write_atomically(&out, &image)?;
    Ok(out)
}

/// Writes via a temporary file and rename, so a concurrent reader (another
/// `umbra run`) never sees a half-written image.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Our stderr, for a child's stdout.
pub fn stderr_stdio() -> Stdio {
    use std::os::fd::AsFd;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::inherit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_cargo_invocation() {
        assert_eq!(
            cargo_args(true).join(" "),
            "build --release -p umbra-kernel --target x86_64-unknown-none \
             -Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem -q"
        );
    }
}
