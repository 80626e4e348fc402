//! Busybox applets in the guest (`umbra run --busybox`): shell scripts run
//! by Debian's static busybox `sh`, each check printing a marker line
//! (`applet:result`) that the test asserts on, so a failure names the
//! applet. Several applets share one boot to keep the suite fast.
//!
//! Not covered because Debian's busybox-static (1.35) does not build them:
//! split, comm, sum, cksum, nohup, printenv, install, pgrep, pkill, nice
//! (and `xz` only decompresses). Not asserted: `logname` (needs utmp),
//! `hostid` (calls socket(2), not implemented yet).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use umbra_tests::{kernel_image, test_accel, umbra_bin, umbra_run, Output};

const BUSYBOX: &str = "/bin/busybox";

fn need_busybox() {
    assert!(
        Path::new(BUSYBOX).is_file(),
        "{BUSYBOX} missing (scripts/setup.sh installs busybox-static)"
    );
}

/// Runs `script` with `sh -c` in a `--busybox` guest.
fn sh(script: &str) -> Output {
    need_busybox();
    umbra_run().opt("--busybox").guest(&["sh", "-c", script])
}

/// Runs `script`, expects exit status 0 and every line of `expected` on the
/// console; a failure lists all missing lines.
fn check(script: &str, expected: &[&str]) -> Output {
    let out = sh(script);
    let lines = out.stdout_lines();
    let missing: Vec<&&str> = expected.iter().filter(|e| !lines.contains(e)).collect();
    assert!(missing.is_empty(), "missing lines {missing:?}\n{out:?}");
    out.assert_code(0);
    out
}

// ---------------------------------------------------------------- front-end

#[test]
fn busybox_option_sh_c_echo_and_exit_status() {
    sh("echo hi; exit 3").assert_code(3).assert_stdout_line("hi");
}

#[test]
fn busybox_option_layout() {
    check(
        "echo layout:$(readlink /bin/sh) $(readlink /usr/bin/awk); \
         echo passwd:$(cat /etc/passwd); echo group:$(cat /etc/group); \
         echo tmp:$(stat -c %a /tmp) root:$(stat -c %a /root); \
         echo whoami:$(whoami); echo id:$(id); \
         test -L /linuxrc || echo no-linuxrc",
        &[
            "layout:/bin/busybox /bin/busybox",
            "passwd:root:x:0:0:root:/root:/bin/sh",
            "group:root:x:0:",
            "tmp:1777 root:700",
            "whoami:root",
            "id:uid=0(root) gid=0(root)",
            "no-linuxrc",
        ],
    );
}

/// Kernel monitor words still work with `--busybox` when they are not
/// programs (`exit` is no applet).
#[test]
fn busybox_option_keeps_monitor_exit() {
    need_busybox();
    umbra_run().opt("--busybox").guest(&["exit", "6"]).assert_code(6);
}

/// Without a command, `--busybox` gives an interactive `sh` on the console.
#[test]
fn busybox_option_without_command_runs_interactive_sh() {
    need_busybox();
    let mut child = Command::new(umbra_bin())
        .arg("run")
        .arg("--kernel")
        .arg(kernel_image())
        .args(["--accel", &test_accel(), "--timeout", "120", "--busybox"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running umbra");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            let _ = tx.send(buf[..n].to_vec());
        }
    });
    // The UART drops input sent before the shell reads it, and ash eats the
    // first bytes as the answer to its cursor-position query (ESC [ 6 n):
    // wait for the prompt, then send an empty line, then the command with
    // leading blanks (each prompt's query eats at most one byte).
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !String::from_utf8_lossy(&seen).contains("/ # ") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => panic!("no shell prompt\n{}", String::from_utf8_lossy(&seen)),
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"\r").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"  echo from-sh $((40+2)); exit 4\r").unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter().flatten());
    drop(stdin);
    let out = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(status.code(), Some(4), "{out}");
    assert!(out.contains("built-in shell (ash)"), "{out}");
    assert!(out.contains("from-sh 42"), "{out}");
}

// ---------------------------------------------------------------- applets

#[test]
fn busybox_applets_files() {
    check(
        "cd /tmp; echo hello > a.txt; echo cat:$(cat a.txt); \
         cp a.txt b.txt && echo cp:$(cat b.txt); \
         mv b.txt c.txt && test ! -e b.txt && echo mv:$(cat c.txt); \
         rm c.txt && test ! -e c.txt && echo rm:ok; \
         mkdir -p d/e && test -d d/e && echo mkdir:ok; \
         rmdir d/e && test ! -e d/e && echo rmdir:ok; \
         ln -s a.txt l && echo ln-s:$(readlink l); \
         ln a.txt h && echo ln:$(cat h) $(stat -c %h a.txt); \
         echo realpath:$(realpath l); \
         echo ls:$(ls /tmp); \
         echo find:$(find /tmp -name 'a.*'); \
         touch t && echo touch:$(stat -c %s t); \
         chmod 640 t && echo chmod:$(stat -c %a t); \
         chown 0:0 t && echo chown:$(stat -c %u:%g t); \
         echo stat:$(stat -c '%F' d); \
         echo teed | tee tt > /dev/null; echo tee:$(cat tt)",
        &[
            "cat:hello",
            "cp:hello",
            "mv:hello",
            "rm:ok",
            "mkdir:ok",
            "rmdir:ok",
            "ln-s:a.txt",
            "ln:hello 2",
            "realpath:/tmp/a.txt",
            "ls:a.txt d h l",
            "find:/tmp/a.txt",
            "touch:0",
            "chmod:640",
            "chown:0:0",
            "stat:directory",
            "tee:teed",
        ],
    );
}

#[test]
fn busybox_applets_text() {
    check(
        "echo grep:$(printf 'l1\\nl2\\nl3\\n' | grep -n l2); \
         echo sed:$(echo foo bar | sed 's/foo/baz/'); \
         echo awk:$(printf 'x y z\\n1 2 3\\n' | awk '{s = s $2} END {print s}'); \
         echo sort-uniq:$(printf 'b\\na\\nb\\nc\\n' | sort | uniq -c | tr -s ' '); \
         echo wc:$(printf 'a b\\nc\\n' | wc -lw | tr -s ' '); \
         echo head-tail:$(seq 10 | head -3 | tail -1); \
         echo tr:$(echo abc | tr a-c A-C); \
         echo cut:$(echo a:b:c | cut -d: -f2); \
         echo xargs:$(echo 1 2 3 | xargs -n1 echo X); \
         echo rev:$(echo abc | rev); \
         echo nl:$(printf 'a\\nb\\n' | nl | tr -s ' \\t' ' '); \
         echo fold:$(echo abcdef | fold -w 2); \
         printf '1\\n2\\n' > /tmp/c1; printf '3\\n4\\n' > /tmp/c2; \
         echo paste:$(paste -d, /tmp/c1 /tmp/c2); \
         echo tac:$(seq 3 | tac); \
         echo seq:$(seq 2 2 8); \
         echo yes:$(yes | head -3); \
         echo printf:$(printf '%s-%03d' pf 7); \
         echo echo:$(echo -n a; echo b)",
        &[
            "grep:2:l2",
            "sed:baz bar",
            "awk:y2",
            "sort-uniq: 1 a 2 b 1 c",
            "wc: 2 3",
            "head-tail:3",
            "tr:ABC",
            "cut:b",
            "xargs:X 1 X 2 X 3",
            "rev:cba",
            "nl: 1 a 2 b",
            "fold:ab cd ef",
            "paste:1,3 2,4",
            "tac:3 2 1",
            "seq:2 4 6 8",
            "yes:y y y",
            "printf:pf-007",
            "echo:ab",
        ],
    );
}

#[test]
fn busybox_applets_compare_and_encode() {
    check(
        "cd /tmp; echo hello > a; echo hello > b; echo other > c; \
         cmp a b && echo cmp:same; cmp -s a c; echo cmp-differ:$?; \
         diff a c > d.out; echo diff:$? $(grep -c '^[-+]' d.out); \
         echo od:$(echo AB | od -An -c | tr -s ' '); \
         echo hexdump:$(echo AB | hexdump -C | head -1 | tr -s ' '); \
         echo base64:$(echo hi | base64) $(echo aGkK | base64 -d); \
         echo md5sum:$(echo x | md5sum); \
         echo sha256sum:$(echo x | sha256sum); \
         echo expr:$(expr 6 \\* 7) $(expr length abcd); \
         test 3 -gt 2 && [ -f a ] && [ ! -d a ] && echo test:ok; \
         true && ! false && echo true-false:ok; \
         echo basename:$(basename /a/b.c .c) dirname:$(dirname /a/b.c); \
         echo factor:$(factor 12)",
        &[
            "cmp:same",
            "cmp-differ:1",
            "diff:1 4",
            "od: A B \\n",
            "hexdump:00000000 41 42 0a |AB.|",
            "base64:aGkK hi",
            "md5sum:401b30e3b8b5d629635a5c613cdb7919 -",
            "sha256sum:73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac -",
            "expr:42 4",
            "test:ok",
            "true-false:ok",
            "basename:b dirname:/a",
            "factor:12: 2 2 3",
        ],
    );
}

#[test]
fn busybox_applets_archives() {
    check(
        "cd /tmp; seq 1000 > n.txt; \
         dd if=n.txt of=d.bin bs=100 count=3 2>/dev/null; echo dd:$(wc -c < d.bin); \
         dd if=/dev/zero of=z.bin bs=1024 count=8 2>/dev/null; echo du:$(du -k z.bin); \
         gzip -c n.txt > n.gz && echo gunzip:$(gunzip -c n.gz | tail -1) zcat:$(zcat n.gz | wc -l); \
         gzip n.txt && test -f n.txt.gz && gunzip n.txt.gz && echo gzip-inplace:$(wc -l < n.txt); \
         mkdir -p tr/sub; echo one > tr/sub/f; tar -cf t.tar tr && rm -r tr && tar -xf t.tar && echo tar:$(cat tr/sub/f); \
         echo tar-t:$(tar -tf t.tar); \
         tar -czf t.tgz tr && echo tar-z:$(tar -tzf t.tgz | wc -l); \
         find tr | cpio -o -H newc > t.cpio 2>/dev/null && mkdir x && cd x && cpio -i -d < ../t.cpio 2>/dev/null; \
         echo cpio:$(cat tr/sub/f); cd ..; \
         truncate -s 100 tf; echo truncate:$(stat -c %s tf); \
         echo mktemp:$(mktemp -p /tmp | grep -c '^/tmp/')",
        &[
            "dd:300",
            "du:8 z.bin",
            "gunzip:1000 zcat:1000",
            "gzip-inplace:1000",
            "tar:one",
            "tar-t:tr/ tr/sub/ tr/sub/f",
            "tar-z:3",
            "cpio:one",
            "truncate:100",
            "mktemp:1",
        ],
    );
}

#[test]
fn busybox_applets_system_info() {
    check(
        "echo uname:$(uname -s); echo id:$(id -u):$(id -g); echo whoami:$(whoami); \
         echo hostname:$(hostname); cd /tmp && echo pwd:$(pwd); \
         echo nproc:$(nproc); echo env:$(env | grep -c '^PATH='); \
         echo which:$(which ls); \
         echo date:$(date -d @0 -u +%Y-%m-%d) $(date +%Y | grep -c '^20'); \
         sleep 0.1 && echo sleep:ok; \
         echo uptime:$(uptime | grep -c 'load average'); \
         mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo x > /mnt/t/f && echo mount:$(cat /mnt/t/f); \
         umount /mnt/t && test ! -e /mnt/t/f && echo umount:ok",
        &[
            "uname:Linux",
            "id:0:0",
            "whoami:root",
            "hostname:umbra",
            "pwd:/tmp",
            "nproc:1",
            "env:1",
            "which:/bin/ls",
            "date:1970-01-01 1",
            "sleep:ok",
            "uptime:1",
            "mount:x",
            "umount:ok",
        ],
    );
}

#[test]
fn busybox_applets_more() {
    check(
        "cd /tmp; echo x > s; \
         echo sha1sum:$(echo x | sha1sum); \
         echo sha512sum:$(echo x | sha512sum | cut -c1-16); \
         echo sha3sum:$(echo x | sha3sum | cut -c1-8); \
         echo crc32:$(echo x | crc32); \
         md5sum s > s.md5; echo md5sum-c:$(md5sum -c s.md5); \
         seq 100 > n; bzip2 -k n && echo bzip2:$(bunzip2 -c n.bz2 | wc -l); \
         echo xxd:$(echo AB | xxd -p); \
         echo strings:$(printf 'ab\\000hello\\000' | strings); \
         echo uuencode:$(echo hi | uuencode - | uudecode -o -); \
         echo expand:$(printf 'a\\tb\\n' | expand | wc -c); \
         echo unexpand:$(printf '        a\\n' | unexpand | od -An -c | tr -s ' '); \
         echo shuf:$(seq 5 | shuf | sort | tr -d '\\n'); \
         echo dos2unix:$(printf 'a\\r\\n' | dos2unix | od -An -c | tr -s ' '); \
         echo dc:$(echo '2 3 + p' | dc) bc:$(echo '6*7' | bc); \
         echo cal:$(cal 1 2000 | head -1 | tr -s ' '); \
         echo getopt:$(getopt ab: -a -b x y); \
         sync && echo sync:ok; usleep 1000 && echo usleep:ok; \
         mknod nn c 1 3 && echo mknod:$(stat -c %t,%T nn); \
         echo sort-n:$(printf '10\\n9\\n100\\n' | sort -n); \
         echo ln-sf:$(ln -sf s l2 && readlink l2); \
         echo chgrp:$(chgrp 0 s && stat -c %g s); \
         echo cp-r:$(mkdir -p c1/c && echo q > c1/c/f && cp -r c1 c2 && cat c2/c/f); \
         echo rm-r:$(rm -r c2 && test ! -e c2 && echo ok); \
         echo ls-l:$(ls -l s | cut -c1-10); \
         echo head-c:$(echo abcdef | head -c 3) tail-n:$(seq 10 | tail -n +9); \
         echo env-i:$(env -i A=1 env); \
         echo groups:$(groups) arch:$(arch) tty:$(tty); \
         echo chroot:$(mkdir -p /cr/bin && cp /bin/busybox /cr/bin/ && chroot /cr /bin/busybox echo inside); \
         echo touch-d:$(touch -d '2000-01-01 00:00:00' s && stat -c %Y s) $(date -r s -u +%Y)",
        &[
            "sha1sum:6fcf9dfbd479ed82697fee719b9f8c610a11ff2a -",
            "sha512sum:45843648ecf9da8e",
            "sha3sum:a4f177c0",
            "crc32:46ea081f",
            "md5sum-c:s: OK",
            "bzip2:100",
            "xxd:41420a",
            "strings:hello",
            "uuencode:hi",
            "expand:10",
            "unexpand: \\t a \\n",
            "shuf:12345",
            "dos2unix: a \\n",
            "dc:5 bc:42",
            "cal: January 2000",
            "getopt: -a -b x -- y",
            "sync:ok",
            "usleep:ok",
            "mknod:1,3",
            "sort-n:9 10 100",
            "ln-sf:s",
            "chgrp:0",
            "cp-r:q",
            "rm-r:ok",
            "ls-l:-rw-r--r--",
            "head-c:abc tail-n:9 10",
            "env-i:A=1",
            "groups:root arch:x86_64 tty:/dev/console",
            "chroot:inside",
            "touch-d:946684800 2000",
        ],
    );
}

// ---------------------------------------------------------------- shell

#[test]
fn busybox_sh_redirections_and_pipelines() {
    check(
        "cd /tmp; echo out > r; echo app >> r; echo append:$(cat < r); \
         echo stderr:$(sh -c 'echo err 1>&2' 2>&1 | sed 's/^/got-/'); \
         ls /nonexist > o 2>&1; echo redir-status:$?; echo redir:$(cat o); \
         echo pipeline:$(seq 100 | grep 7 | sort -r | head -2); \
         echo subst:$(echo $(echo inner)) arith:$((3+4*2)); \
         for i in 1 2 3; do printf $i; done; echo ' :for'; \
         case abc in a*) echo case:ok;; esac; \
         while read l; do echo read:$l; done < r; \
         f() { return 7; }; f; echo func:$?; \
         echo here:$(cat <<EOF\nheredoc\nEOF\n)",
        &[
            "append:out app",
            "stderr:got-err",
            "redir-status:1",
            "redir:ls: /nonexist: No such file or directory",
            "pipeline:97 87",
            "subst:inner arith:11",
            "123 :for",
            "case:ok",
            "read:out",
            "read:app",
            "func:7",
            "here:heredoc",
        ],
    );
}

#[test]
fn busybox_sh_jobs_and_signals() {
    check(
        "sleep 1 & wait $!; echo bg:$?; \
         sleep 10 & p=$!; kill $p; wait $p; echo kill:$?; \
         sleep 10 & kill -9 %1; wait; echo jobkill:ok; \
         trap 'echo trapped:TERM' TERM; kill -TERM $$; echo after-trap:ok; trap - TERM; \
         sh -c 'kill -TERM $$; echo no'; echo self-term:$?; \
         (trap 'echo sub:USR1; exit 9' USR1; kill -USR1 $(sh -c 'echo $PPID'); sleep 1); echo sub-status:$?; \
         timeout 1 sleep 5; echo timeout:$?; \
         sh -c 'exit 5'; echo exit-status:$?",
        &[
            "bg:0",
            "kill:143",
            "jobkill:ok",
            "trapped:TERM",
            "after-trap:ok",
            "self-term:143",
            "sub:USR1",
            "sub-status:9",
            "timeout:143",
            "exit-status:5",
        ],
    );
}

/// Opening a FIFO fails with ENXIO: the kernel has no FIFO file type yet.
#[test]
#[ignore = "kernel: open() of a FIFO made by mknod/mkfifo fails with ENXIO"]
fn busybox_applets_mkfifo() {
    check(
        "cd /tmp; mkfifo ff && (echo fifo > ff &) && echo mkfifo:$(cat ff)",
        &["mkfifo:fifo"],
    );
}

/// These read /proc, which is being added separately.
#[test]
#[ignore = "needs /proc (ps, top, free, df, pidof, killall, mount listing)"]
fn busybox_applets_needing_proc() {
    check(
        "echo ps:$(ps | grep -c ps); echo top:$(top -bn1 | grep -c Mem); \
         echo free:$(free | grep -c Mem); echo df:$(df / | grep -c /); \
         echo pidof:$(pidof sh | grep -c .); \
         echo killall:$(killall -0 sh && echo ok); \
         mkdir -p /mnt/t; mount -t tmpfs none /mnt/t; echo mounts:$(mount | grep -c /mnt/t)",
        &["ps:1", "top:1", "free:1", "df:1", "pidof:1", "killall:ok", "mounts:1"],
    );
}
