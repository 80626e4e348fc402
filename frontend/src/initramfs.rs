//! Builds the guest's initramfs from `--add` specs and the guest command.

use crate::busybox::Busybox;
use crate::cli::AddSpec;
use crate::cpio::CpioWriter;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Where the guest command goes: each argument followed by a NUL byte.
pub const ARGV_PATH: &str = "/etc/umbra/argv";

/// Contents of [`ARGV_PATH`] for `command`.
pub fn argv_file(command: &[String]) -> Vec<u8> {
    let mut v = Vec::new();
    for a in command {
        v.extend_from_slice(a.as_bytes());
        v.push(0);
    }
    v
}

/// Writes the archive to `out`. The `--add` host paths are read here; a
/// directory is added recursively (symbolic links inside it are kept as
/// links; a top-level symbolic link is followed). Returns the entry count.
#[cfg(test)]
pub fn write(out: &Path, adds: &[AddSpec], command: &[String]) -> Result<usize, String> {
    write_with(out, None, adds, command)
}

/// [`write`] with the busybox userland first (so `--add` entries, written
/// later, win over it).
pub fn write_with(
    out: &Path,
    busybox: Option<&Busybox>,
    adds: &[AddSpec],
    command: &[String],
) -> Result<usize, String> {
    let file = fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut w = CpioWriter::new(BufWriter::new(file));
    if let Some(bb) = busybox {
        bb.write_into(&mut w).map_err(|e| format!("busybox userland: {e}"))?;
    }
    for add in adds {
        add_host_path(&mut w, &add.host, &add.guest, true)
            .map_err(|e| format!("--add {}:{}: {e}", add.host.display(), add.guest))?;
    }
    if !command.is_empty() {
        w.add_file(ARGV_PATH, 0o644, &argv_file(command))
            .map_err(|e| e.to_string())?;
    }
    let n = w.entries();
    w.finish()
        .and_then(|mut f| f.flush())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(n)
}

fn add_host_path<W: Write>(
    w: &mut CpioWriter<W>,
    host: &Path,
    guest: &str,
    follow: bool,
) -> io::Result<()> {
    let md = if follow {
        fs::metadata(host)
    } else {
        fs::symlink_metadata(host)
    }
    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
    let perm = md.permissions().mode() & 0o7777;
    let ft = md.file_type();
    if ft.is_dir() {
        w.add_dir(guest, perm)?;
        let mut children: Vec<_> = fs::read_dir(host)?.collect::<Result<_, _>>()?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let name = child.file_name();
            let name = name.to_str().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: file name is not UTF-8", child.path().display()),
                )
            })?;
            let child_guest = if guest == "/" {
                format!("/{name}")
            } else {
                format!("{guest}/{name}")
            };
            add_host_path(w, &child.path(), &child_guest, false)?;
        }
        Ok(())
    } else if ft.is_file() {
        let data = fs::read(host)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
        w.add_file(guest, perm, &data)
    } else if ft.is_symlink() {
        let target = fs::read_link(host)?;
        let target = target.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: link target is not UTF-8", host.display()),
            )
        })?;
        w.add_symlink(guest, target)
    } else {
        eprintln!(
            "umbra: skipping {} (not a file, directory or symbolic link)",
            host.display()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::tests::parse;
    use crate::tempdir::TempDir;

    #[test]
    fn argv_encoding() {
        let cmd: Vec<String> = ["echo", "a b", ""].iter().map(|s| s.to_string()).collect();
        assert_eq!(argv_file(&cmd), b"echo\0a b\0\0");
    }

    #[test]
    fn adds_files_dirs_links_and_argv() {
        let t = TempDir::new("initramfs-test").unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/x.sh"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("sub/x.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(src.join("a.txt"), b"A").unwrap();
        fs::set_permissions(src.join("a.txt"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("sub/x.sh", src.join("link")).unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(t.path().join("single"), b"S").unwrap();
        fs::set_permissions(t.path().join("single"), fs::Permissions::from_mode(0o600)).unwrap();

        let out = t.path().join("initrd");
        let adds = vec![
            AddSpec {
                host: src.clone(),
                guest: "/opt/src".into(),
            },
            AddSpec {
                host: t.path().join("single"),
                guest: "/single".into(),
            },
        ];
        let cmd = vec!["exit".to_string(), "0".to_string()];
        let n = write(&out, &adds, &cmd).unwrap();
        let e = parse(&fs::read(&out).unwrap());
        assert_eq!(n, e.len());
        let got: Vec<(&str, u32)> = e.iter().map(|(n, m, _, _)| (n.as_str(), *m)).collect();
        assert_eq!(
            got,
            vec![
                ("opt", 0o040755),
                ("opt/src", 0o040755),
                ("opt/src/a.txt", 0o100640),
                ("opt/src/link", 0o120777),
                ("opt/src/sub", 0o040755),
                ("opt/src/sub/x.sh", 0o100755),
                ("single", 0o100600),
                ("etc", 0o040755),
                ("etc/umbra", 0o040755),
                ("etc/umbra/argv", 0o100644),
            ]
        );
        assert_eq!(e[3].3, b"sub/x.sh");
        assert_eq!(e[9].3, b"exit\x000\x00");
    }

    #[test]
    fn busybox_layout() {
        let t = TempDir::new("initramfs-test").unwrap();
        fs::write(t.path().join("bb"), b"ELF").unwrap();
        let bb = Busybox {
            host: t.path().join("bb"),
            applets: vec!["/bin/sh".into(), "/usr/bin/awk".into()],
        };
        let out = t.path().join("initrd");
        write_with(&out, Some(&bb), &[], &["sh".to_string()]).unwrap();
        let e = parse(&fs::read(&out).unwrap());
        let find = |n: &str| e.iter().find(|x| x.0 == n).unwrap_or_else(|| panic!("no {n}"));
        assert_eq!(find("bin/busybox").1, 0o100755);
        assert_eq!(find("bin/busybox").3, b"ELF");
        assert_eq!(find("bin/sh").1, 0o120777);
        assert_eq!(find("bin/sh").3, b"/bin/busybox");
        assert_eq!(find("usr/bin/awk").3, b"/bin/busybox");
        assert_eq!(find("tmp").1, 0o041777);
        assert_eq!(find("root").1, 0o040700);
        assert_eq!(find("etc/passwd").3, b"root:x:0:0:root:/root:/bin/sh\n");
        assert_eq!(find("etc/group").3, b"root:x:0:\n");
        assert_eq!(find("etc/umbra/argv").3, b"sh\x00");
    }

    #[test]
    fn no_command_no_argv_file() {
        let t = TempDir::new("initramfs-test").unwrap();
        let out = t.path().join("initrd");
        assert_eq!(write(&out, &[], &[]).unwrap(), 0);
        assert!(parse(&fs::read(&out).unwrap()).is_empty());
    }

    #[test]
    fn missing_host_path_is_an_error() {
        let t = TempDir::new("initramfs-test").unwrap();
        let adds = vec![AddSpec {
            host: t.path().join("nope"),
            guest: "/x".into(),
        }];
        let e = write(&t.path().join("initrd"), &adds, &[]).unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }
}
