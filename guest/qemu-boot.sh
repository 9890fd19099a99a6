#!/usr/bin/env bash
# Boot an Ember guest under QEMU's riscv64 "virt" machine (the reference machine).
# Usage: guest/qemu-boot.sh [--disk IMAGE] [--ro-disk IMAGE] [--net] [--rng] KERNEL [INITRD] [extra qemu args...]
#   --disk IMAGE  attach IMAGE as a raw virtio-blk disk (/dev/vda) and boot from it
#                 (command line `console=ttyS0 root=/dev/vda rw`). The guest WRITES to IMAGE:
#                 pass a copy of guest/out/rootfs.ext4, never the pristine image itself.
#   --ro-disk IMAGE  attach IMAGE as a read-only raw virtio-blk disk (/dev/vda when booting from
#                 the initramfs), e.g. guest/out/nested.ext4 for a nested VM (guest/nested-compare.sh)
#   --net         virtio-net with QEMU user networking (slirp: guest 10.0.2.15 by DHCP,
#                 gateway/host 10.0.2.2, DNS 10.0.2.3); add port forwards with
#                 EMBER_QEMU_HOSTFWD, e.g. EMBER_QEMU_HOSTFWD=tcp::8080-:80
#   --rng         virtio-rng (/dev/hwrng in the guest)
# INITRD is required without --disk. With both, the kernel runs the initramfs's /init and the
# disk is just /dev/vda (Ember passes an initramfs only when no root disk is attached).
# All virtio devices are virtio-mmio ("-device virtio-*-device"), as on Ember.
#   e.g. guest/qemu-boot.sh guest/out/Image guest/out/initramfs.cpio -smp 4
#        cp guest/out/rootfs.ext4 /tmp/root.ext4
#        guest/qemu-boot.sh --disk /tmp/root.ext4 --net --rng guest/out/Image
#        guest/qemu-boot.sh guest/out/Image guest/out/initramfs.cpio \
#            -bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
# The guest's serial console is this process's stdin/stdout, so commands can be
# piped in: (sleep 20; echo 'echo hi'; echo poweroff) | guest/qemu-boot.sh ...
# QEMU exits with status 0 when the guest powers off.
# EMBER_GUEST_APPEND overrides the kernel command line (default: console=ttyS0, plus
# root=/dev/vda rw with --disk).
set -euo pipefail
usage() {
    echo "usage: $0 [--disk IMAGE] [--ro-disk IMAGE] [--net] [--rng] KERNEL [INITRD] [extra qemu args...]" >&2
    exit 2
}
disk="" ro_disk="" net=0 rng=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --disk) [[ $# -ge 2 ]] || usage; disk=$2; shift 2 ;;
        --ro-disk) [[ $# -ge 2 ]] || usage; ro_disk=$2; shift 2 ;;
        --net) net=1; shift ;;
        --rng) rng=1; shift ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || usage
kernel=$1
shift
args=(-kernel "$kernel")
append="console=ttyS0"
# INITRD: the next argument unless it is a QEMU option
if [[ $# -gt 0 && $1 != -* ]]; then
    args+=(-initrd "$1")
    shift
elif [[ -z $disk ]]; then
    usage
fi
if [[ -n $disk ]]; then
    [[ -f $disk ]] || { echo "$0: no such disk image: $disk" >&2; exit 2; }
    args+=(-drive "file=$disk,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0)
    append+=" root=/dev/vda rw"
fi
if [[ -n $ro_disk ]]; then
    [[ -f $ro_disk ]] || { echo "$0: no such disk image: $ro_disk" >&2; exit 2; }
    args+=(-drive "file=$ro_disk,format=raw,if=none,id=r0,readonly=on" -device virtio-blk-device,drive=r0)
fi
if [[ $net == 1 ]]; then
    args+=(-netdev "user,id=n0${EMBER_QEMU_HOSTFWD:+,hostfwd=$EMBER_QEMU_HOSTFWD}"
           -device virtio-net-device,netdev=n0)
fi
if [[ $rng == 1 ]]; then
    args+=(-device virtio-rng-device)
fi
command -v qemu-system-riscv64 >/dev/null ||
    { echo "qemu-system-riscv64 not found (Debian package qemu-system-misc)" >&2; exit 127; }
exec qemu-system-riscv64 -M virt -nographic -m 512M \
    "${args[@]}" -append "${EMBER_GUEST_APPEND:-$append}" "$@"
