#!/bin/bash
# Stand-in for qemu-system-x86_64 in the front-end's protocol tests
# (tests/tests/protocol.rs), selected with UMBRA_QEMU. Driven by:
#   FAKE_QEMU_DUMP  folder: save the arguments (one per line) and the initrd
#   FAKE_QEMU_SLEEP seconds to hang instead of exiting (timeout tests)
#   FAKE_QEMU_CTL   what to write to the status channel (printf %b escapes)
#   FAKE_QEMU_EXIT  exit status (default 1, as after isa-debug-exit 0)
set -u
ctl= initrd= prev=
for a in "$@"; do
    case "$a" in file,id=umbractl,path=*) ctl="${a#file,id=umbractl,path=}" ;; esac
    if [ "$prev" = -initrd ]; then initrd="$a"; fi
    prev="$a"
done
if [ -n "${FAKE_QEMU_DUMP:-}" ]; then
    printf '%s\n' "$@" > "$FAKE_QEMU_DUMP/args"
    cp "$initrd" "$FAKE_QEMU_DUMP/initrd"
fi
echo "fake qemu console"
if [ -n "${FAKE_QEMU_SLEEP:-}" ]; then
    exec sleep "$FAKE_QEMU_SLEEP"
fi
printf '%b' "${FAKE_QEMU_CTL:-}" > "${ctl:?no status channel on the command line}"
exit "${FAKE_QEMU_EXIT:-1}"
