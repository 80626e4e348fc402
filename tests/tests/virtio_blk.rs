//! virtio-blk end to end: `umbra run --disk IMAGE` attaches a raw image
//! that the guest sees as /dev/vda. The guest's busybox reads it whole
//! (md5sum, compared with the host's hash of the same file), asks its
//! size (BLKGETSIZE64, BLKSSZGET through `blockdev`), reads single
//! sectors (`dd | od`), writes at sector-aligned and unaligned offsets
//! (`dd conv=notrunc,fsync`), reads the end (`tail -c`: lseek SEEK_END);
//! after power-off the host reads the image
//! and checks every byte it expects changed, and that nothing else did.
//! Runs without a TEE (SeaBIOS and OVMF), with 2 CPUs, and in the emulated TD (tdx-emu),
//! where the emulator records any DMA that touched a private page.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use umbra_tests::{Output, emulation_image, umbra_run, umbra_run_with_kernel};

/// 1 MiB plus one sector: not a power of two, so a size bug shows.
const IMAGE_SIZE: usize = (1 << 20) + 512;
const ALIGNED_AT: usize = 3 * 512;
const ALIGNED_TEXT: &str = "UMBRA-SECTOR-WRITE";
const UNALIGNED_AT: usize = 70_001;
const UNALIGNED_TEXT: &str = "xy-unaligned-zz";

/// A fresh image with a known, position-dependent pattern.
fn make_image(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("umbra-virtio-blk-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("disk.img");
    let data: Vec<u8> = (0..IMAGE_SIZE).map(|i| ((i * 7 + i / 4096) % 251) as u8).collect();
    std::fs::write(&path, &data).expect("writing the image");
    (path, data)
}

fn host_md5(path: &Path) -> String {
    let out = Command::new("md5sum").arg(path).stderr(Stdio::inherit()).output().expect("md5sum");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("a hash").to_string()
}

/// The guest script: hash, sizes, one sector as hex, two writes.
fn script() -> String {
    format!(
        "md5sum /dev/vda && blockdev --getsize64 /dev/vda && blockdev --getss /dev/vda && \
         echo sector2: $(dd if=/dev/vda bs=512 skip=2 count=1 2>/dev/null | od -An -tx1 -N8) && \
         printf {ALIGNED_TEXT} | dd of=/dev/vda bs=512 seek={} conv=notrunc,fsync 2>/dev/null && \
         printf {UNALIGNED_TEXT} | dd of=/dev/vda bs=1 seek={UNALIGNED_AT} conv=notrunc,fsync 2>/dev/null && \
         echo readback: $(dd if=/dev/vda bs=1 skip={UNALIGNED_AT} count={} 2>/dev/null) && \
         echo past-end: $(dd if=/dev/vda bs=512 skip={} count=1 2>/dev/null | wc -c) && \
         echo tail: $(tail -c 4 /dev/vda | od -An -tx1) && echo done",
        ALIGNED_AT / 512,
        UNALIGNED_TEXT.len(),
        IMAGE_SIZE / 512,
    )
}

fn check(out: &Output, image: &Path, mut expected: Vec<u8>, original_md5: &str) {
    out.assert_code(0);
    out.assert_stdout_line(&format!("{original_md5}  /dev/vda"));
    out.assert_stdout_line(&IMAGE_SIZE.to_string());
    out.assert_stdout_line("512");
    let sector2: Vec<String> = expected[1024..1032].iter().map(|b| format!("{b:02x}")).collect();
    out.assert_stdout_line(&format!("sector2: {}", sector2.join(" ")));
    out.assert_stdout_line(&format!("readback: {UNALIGNED_TEXT}"));
    out.assert_stdout_line("past-end: 0");
    // tail -c seeks from the end (lseek SEEK_END counts from the capacity).
    let last: Vec<String> = expected[IMAGE_SIZE - 4..].iter().map(|b| format!("{b:02x}")).collect();
    out.assert_stdout_line(&format!("tail: {}", last.join(" ")));
    out.assert_stdout_line("done");
    expected[ALIGNED_AT..ALIGNED_AT + ALIGNED_TEXT.len()].copy_from_slice(ALIGNED_TEXT.as_bytes());
    expected[UNALIGNED_AT..UNALIGNED_AT + UNALIGNED_TEXT.len()].copy_from_slice(UNALIGNED_TEXT.as_bytes());
    let after = std::fs::read(image).expect("reading the image back");
    assert_eq!(after.len(), IMAGE_SIZE, "the image changed size");
    if let Some(first) = after.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!("image differs from the expected bytes first at offset {first}\n{out:?}");
    }
    let _ = std::fs::remove_dir_all(image.parent().expect("image dir"));
}

fn run_disk_test(name: &str, umbra: umbra_tests::Umbra) {
    let (image, data) = make_image(name);
    let md5 = host_md5(&image);
    let script = script();
    let out = umbra.opt("--disk").opt(&image).guest(&["sh", "-c", &script]);
    check(&out, &image, data, &md5);
}

#[test]
fn guest_reads_and_writes_a_raw_disk() {
    run_disk_test("none", umbra_run().timeout(300));
}

#[test]
fn guest_reads_and_writes_a_raw_disk_with_two_cpus() {
    run_disk_test("smp2", umbra_run().timeout(300).opts(["--smp", "2"]));
}

/// OVMF puts the 64-bit BAR near 1 TiB (SeaBIOS keeps it below 4 GiB).
#[test]
fn guest_reads_and_writes_a_raw_disk_under_ovmf() {
    run_disk_test("ovmf", umbra_run().timeout(300).opts(["--firmware", "ovmf"]));
}

#[test]
fn two_disks_are_vda_and_vdb() {
    let (first, _) = make_image("two-a");
    let (second, _) = make_image("two-b");
    std::fs::write(&second, vec![0x5a; 4096]).expect("second image");
    let out = umbra_run()
        .timeout(300)
        .opt("--disk")
        .opt(&first)
        .opt("--disk")
        .opt(&second)
        .guest(&["sh", "-c", "blockdev --getsize64 /dev/vda && blockdev --getsize64 /dev/vdb && ls -l /dev/vdb"]);
    out.assert_code(0);
    out.assert_stdout_line(&IMAGE_SIZE.to_string());
    out.assert_stdout_line("4096");
    assert!(out.stdout.contains("254,  16"), "vdb is 254:16\n{out:?}");
    let _ = std::fs::remove_dir_all(first.parent().unwrap());
    let _ = std::fs::remove_dir_all(second.parent().unwrap());
}

#[test]
fn disk_io_in_the_emulated_td_touches_only_shared_pages() {
    let (image, data) = make_image("tdx-emu");
    let md5 = host_md5(&image);
    let script = script();
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(400)
        .opts(["--tee", "tdx-emu", "--disk"])
        .opt(&image)
        .guest(&["sh", "-c", &script]);
    out.assert_stdout_lacks("FATAL: device DMA from a private page");
    assert!(out.stdout.lines().any(|l| l.starts_with("tee: tdx (emulated")), "{out:?}");
    check(&out, &image, data, &md5);
}
