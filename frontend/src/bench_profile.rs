//! `umbra bench --profile`: a sampling profiler for guests under TCG.
//!
//! QEMU's human monitor on a Unix socket is asked `info registers` in a
//! loop; each answer gives the vCPU's RIP and CPL. The samples, time-
//! stamped from QEMU start like the console lines, are written as
//! `seconds rip cpl` lines; benchmarks/profile.py attributes them to the
//! benchmark running at that time (from the console log) and to kernel
//! symbols. Works the same for both kernels, needs nothing in the guest.

use std::io::{BufWriter, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Samples until `stop` is set or QEMU closes the monitor.
pub fn sample(monitor: &Path, out: &Path, start: Instant, stop: &AtomicBool) {
    let mut stream = loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match UnixStream::connect(monitor) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let Ok(file) = std::fs::File::create(out) else { return };
    let mut w = BufWriter::new(file);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        if stream.write_all(b"info registers\n").is_err() {
            break;
        }
        buf.clear();
        // The answer ends with the next prompt.
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.ends_with(b"(qemu) ") {
                break;
            }
        }
        let t = start.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&buf);
        if let (Some(rip), Some(cpl)) = (field(&text, "RIP="), field(&text, "CPL=")) {
            let _ = writeln!(w, "{t:.4} {rip} {cpl}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = w.flush();
}

/// The word after `key` (`RIP=ffffffff80001234` gives `ffffffff80001234`).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    text[at..].split_whitespace().next()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields() {
        let t = "RAX=0 RBX=1\nRIP=ffffffff81000000 RFL=00000246 [---Z-P-] CPL=3 II=0\n(qemu) ";
        assert_eq!(super::field(t, "RIP="), Some("ffffffff81000000"));
        assert_eq!(super::field(t, "CPL="), Some("3"));
    }
}
