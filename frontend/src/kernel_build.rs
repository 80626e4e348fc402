//! Builds the kernel ELF with cargo and wraps it into a bzImage.

use crate::paths;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const KERNEL_PACKAGE: &str = "umbra-kernel";
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";

/// Which kernel image: the plain one, or the test build with the TEE
/// emulator (cargo feature `tee-emulation`), kept in its own target folder
/// and image file so the two never overwrite each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Plain,
    TeeEmulation,
}

impl Flavor {
    /// The image a `--tee` value boots.
    pub fn for_tee(tee: crate::cli::Tee) -> Self {
        match tee {
            crate::cli::Tee::TdxEmu | crate::cli::Tee::SnpEmu => Flavor::TeeEmulation,
            _ => Flavor::Plain,
        }
    }

    fn image_name(self) -> &'static str {
        match self {
            Flavor::Plain => "bzImage",
            Flavor::TeeEmulation => "bzImage-tee-emu",
        }
    }

    /// Cargo's target folder for this flavour.
    fn target_dir(self, root: &Path) -> PathBuf {
        match self {
            Flavor::Plain => paths::target_dir(root),
            Flavor::TeeEmulation => paths::target_dir(root).join("tee-emu"),
        }
    }
}

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
    build_flavor(root, quiet, Flavor::Plain)
}

/// Builds the image of `flavor` (`<target>/umbra/bzImage` or
/// `bzImage-tee-emu`) and returns its path.
pub fn build_flavor(root: &Path, quiet: bool, flavor: Flavor) -> Result<PathBuf, String> {
    let stdout_to_stderr = stderr_stdio();
    let mut args: Vec<std::ffi::OsString> = cargo_args(quiet).into_iter().map(Into::into).collect();
    if flavor == Flavor::TeeEmulation {
        args.extend(["--features".into(), "tee-emulation".into(), "--target-dir".into()]);
        args.push(flavor.target_dir(root).into());
    }
    let status = Command::new(paths::cargo())
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(args)
        .stdout(stdout_to_stderr)
        .status()
        .map_err(|e| format!("cannot run cargo: {e} (run scripts/setup.sh)"))?;
    if !status.success() {
        return Err(format!("kernel build failed ({status})"));
    }
    let elf_path = flavor
        .target_dir(root)
        .join(KERNEL_TARGET)
        .join("release")
        .join(KERNEL_PACKAGE);
    let elf = std::fs::read(&elf_path).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let image = umbra_image::build_bzimage(&elf).map_err(|e| format!("making the bzImage: {e}"))?;
    let dir = paths::umbra_dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(flavor.image_name());
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
