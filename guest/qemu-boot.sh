#!/usr/bin/env bash
# Boot an Ember guest under QEMU's riscv64 "virt" machine (the reference machine).
# Usage: guest/qemu-boot.sh KERNEL INITRD [extra qemu args...]
#   e.g. guest/qemu-boot.sh guest/out/Image guest/out/initramfs.cpio -smp 4
#        guest/qemu-boot.sh guest/out/Image guest/out/initramfs.cpio \
#            -bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
# The guest's serial console is this process's stdin/stdout, so commands can be
# piped in: (sleep 20; echo 'echo hi'; echo poweroff) | guest/qemu-boot.sh ...
# QEMU exits with status 0 when the guest powers off.
# EMBER_GUEST_APPEND overrides the kernel command line (default: console=ttyS0).
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 KERNEL INITRD [extra qemu args...]" >&2
    exit 2
fi
kernel=$1 initrd=$2
shift 2
command -v qemu-system-riscv64 >/dev/null ||
    { echo "qemu-system-riscv64 not found (Debian package qemu-system-misc)" >&2; exit 127; }
exec qemu-system-riscv64 -M virt -nographic -m 512M \
    -kernel "$kernel" -initrd "$initrd" \
    -append "${EMBER_GUEST_APPEND:-console=ttyS0}" "$@"
