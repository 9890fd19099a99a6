#!/usr/bin/env bash
# A nested VM under QEMU (issue 13), the reference for Ember's NestedKvmTest: boot the default guest
# (Image + initramfs.cpio) on qemu-system-riscv64 -M virt with the H extension, guest/out/nested.ext4
# as a read-only second drive, and in the guest run
#   mount -o ro /dev/vda /mnt; /mnt/ember-nvm --cmdline '... ember.mmio=N' /mnt/Image /mnt/nested.cpio
# then `echo ok` to show the outer guest still works. Prints, per run, the figures:
#   outer boot     QEMU start to `ember-guest: userspace up` (host clock; includes OpenSBI)
#   nested marker  ember-nvm start to the nested `ember-nested: userspace up` (guest clock)
#   nested off     ember-nvm start to the nested power-off (ember-nvm's exit summary, guest clock)
#   mmio           ns per nested UART LSR read (one KVM_EXIT_MMIO round trip each)
# and a min-max line over the runs, with /proc/loadavg.
#
# Usage: guest/nested-qemu.sh [--runs N] [--mmio N] [--no-h] [--baseline-kernel IMAGE] [GUEST_DIR]
#   GUEST_DIR              Image, initramfs.cpio, nested.ext4 (default guest/out)
#   --runs N               boots (default 3)
#   --mmio N               nested MMIO reads (default 10000)
#   --no-h                 boot with -cpu rv64,h=false instead and check that there is no /dev/kvm
#                          and that ember-nvm says so (exit 0 when both hold)
#   --baseline-kernel IMG  also time the outer boot (to the userspace marker) of IMG, e.g. a kernel
#                          built without CONFIG_KVM, on the same initramfs and CPU
# Full console logs go to ${TMPDIR:-/tmp}/nested-qemu.*/run-N.log (the path is printed).
set -euo pipefail
GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runs=3 mmio=10000 no_h=0 baseline=""
usage() {
    echo "usage: $0 [--runs N] [--mmio N] [--no-h] [--baseline-kernel IMAGE] [GUEST_DIR]" >&2
    exit 2
}
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; runs=$2; shift 2 ;;
        --mmio) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; mmio=$2; shift 2 ;;
        --no-h) no_h=1; shift ;;
        --baseline-kernel) [[ $# -ge 2 && -f $2 ]] || usage; baseline=$2; shift 2 ;;
        -*) usage ;;
        *) break ;;
    esac
done
[[ $# -le 1 ]] || usage
dir=${1:-$GUEST_DIR/out}
for f in Image initramfs.cpio nested.ext4; do
    [[ -f $dir/$f ]] || { echo "$0: $dir/$f missing (run guest/build.sh)" >&2; exit 2; }
done
logs=$(mktemp -d "${TMPDIR:-/tmp}/nested-qemu.XXXXXX")
echo "logs: $logs"
if [[ $no_h == 1 ]]; then cpu=rv64,h=false; else cpu=rv64,h=true,sstc=true; fi

QPID=""
cleanup() { [[ -n $QPID ]] && kill "$QPID" 2>/dev/null || true; }
trap cleanup EXIT

# boot KERNEL LOG: start QEMU as a coprocess; sets T0 (start, s) and T_UP (userspace marker, s).
boot() {
    local kernel=$1 log=$2 line
    T0=$EPOCHREALTIME T_UP=""
    coproc QEMU { exec "$GUEST_DIR/qemu-boot.sh" --ro-disk "$dir/nested.ext4" "$kernel" "$dir/initramfs.cpio" \
                       -cpu "$cpu" -smp 1 2>&1; }
    QPID=$QEMU_PID   # (bash sets NAME_PID for coproc NAME)
    until_line "ember-guest: root=" 120 "$log" || return 1
}

# until_line PATTERN TIMEOUT_S LOG: read console lines (appending them to LOG) until one contains
# PATTERN (commands echo step markers as "ember-''step NAME", so that the terminal's echo of the
# command line itself does not match); the first `ember-guest: userspace up` sets T_UP. Fails on
# timeout or when QEMU exits.
until_line() {
    local pattern=$1 deadline=$(( ${EPOCHREALTIME%.*} + $2 )) log=$3 line
    local status
    while (( ${EPOCHREALTIME%.*} < deadline )); do
        status=0
        IFS= read -r -t 5 line <&"${QEMU[0]}" || status=$?
        if [[ $status == 0 ]]; then
            line=${line%$'\r'}
            printf '%s\n' "$line" >>"$log"
            [[ -z $T_UP && $line == *"ember-guest: userspace up"* ]] && T_UP=$EPOCHREALTIME
            [[ $line == *"$pattern"* ]] && { LAST_LINE=$line; return 0; }
        elif (( status <= 128 )); then
            echo "QEMU exited while waiting for '$pattern' (log: $log)" >&2
            return 1
        fi
    done
    echo "timeout waiting for '$pattern' (log: $log)" >&2
    return 1
}

send() { printf '%s\n' "$1" >&"${QEMU[1]}"; }

stop_qemu() {
    send "poweroff" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
    kill "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
    QPID=""
}

ms_between() { echo $(( (${2/./} - ${1/./}) / 1000 )); } # ms_between T1 T2 ($EPOCHREALTIME values)
range() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1; n++ } END { if (n) printf "%s-%s (%d runs)", lo, hi, n }'; }

if [[ $no_h == 1 ]]; then
    log=$logs/no-h.log
    boot "$dir/Image" "$log"
    sleep 1
    send "dmesg | grep 'kvm \\['; ls /dev/kvm; echo ember-''step kvm-node \$?"
    until_line "ember-step kvm-node" 60 "$log"
    node=${LAST_LINE##* }
    send "mount -o ro /dev/vda /mnt && /mnt/ember-nvm /mnt/Image /mnt/nested.cpio; echo ember-''step nvm \$?"
    until_line "ember-step nvm" 60 "$log"
    nvm=${LAST_LINE##* }
    stop_qemu
    grep -E 'kvm \[|/dev/kvm|ember-nvm' "$log" | grep -v 'ember-step' || true
    if [[ $node != 0 && $nvm == 1 ]] && grep -q "ember-nvm: cannot open /dev/kvm" "$log"; then
        echo "no-h: PASS (no /dev/kvm, ember-nvm exits 1 with a clear message)"
        exit 0
    fi
    echo "no-h: FAIL (ls /dev/kvm status $node, ember-nvm status $nvm; log: $log)"
    exit 1
fi

declare -a outer nested_up nested_off mmio_ns base_up
fail=0
for r in $(seq 1 "$runs"); do
    log=$logs/run-$r.log
    boot "$dir/Image" "$log"
    outer+=("$(ms_between "$T0" "$T_UP")")
    sleep 1
    send "dmesg | grep 'kvm \\['; ls -l /dev/kvm | cat; echo ember-''step dmesg"
    until_line "ember-step dmesg" 60 "$log"
    send "mount -o ro /dev/vda /mnt; /mnt/ember-nvm --cmdline 'console=hvc0 earlycon=sbi loglevel=6 ember.mmio=$mmio' /mnt/Image /mnt/nested.cpio; echo ember-''step nvm \$?"
    until_line "ember-step nvm" 600 "$log"
    status=${LAST_LINE##* }
    send "umount /mnt; echo o''k"
    until_line "ok" 30 "$log"
    loadavg=$(cat /proc/loadavg)
    stop_qemu
    up=$(sed -nE "s/^ember-nvm: 'ember-nested: userspace up' after ([0-9]+) ms.*/\1/p" "$log" | head -n 1)
    off=$(sed -nE 's/^ember-nvm: [0-9]+ exits .* in ([0-9]+) ms.*/\1/p' "$log" | head -n 1)
    each=$(sed -nE 's/^ember-nested: [0-9]+ mmio reads in [0-9]+ ns \(([0-9]+) ns each.*/\1/p' "$log" | head -n 1)
    checks=""
    grep -q "kvm \[1\]: hypervisor extension available" "$log" || checks+=" no-hypervisor-line"
    grep -q "crw.* /dev/kvm" "$log" || checks+=" no-/dev/kvm"
    sed -n "/^ember-nvm: [0-9]* MiB at/,\$p" "$log" | grep -q "Linux version" || checks+=" no-nested-Linux-version"
    grep -q "ember-nvm: nested VM powered off" "$log" || checks+=" no-power-off"
    [[ $status == 0 ]] || checks+=" ember-nvm-status-$status"
    [[ -n $up ]] || checks+=" no-nested-marker"
    echo "run $r: outer boot ${outer[-1]} ms, nested marker ${up:-?} ms, nested off ${off:-?} ms," \
         "mmio ${each:-?} ns/read ($mmio reads), loadavg $loadavg${checks:+, FAILED:$checks}"
    grep -E '^ember-nvm: [0-9]+ exits' "$log" || true
    [[ -z $checks ]] || fail=1
    [[ -n $up ]] && nested_up+=("$up")
    [[ -n $off ]] && nested_off+=("$off")
    [[ -n $each ]] && mmio_ns+=("$each")
done
if [[ -n $baseline ]]; then
    for r in $(seq 1 "$runs"); do
        log=$logs/baseline-$r.log
        boot "$baseline" "$log"
        base_up+=("$(ms_between "$T0" "$T_UP")")
        stop_qemu
        echo "baseline run $r: outer boot ${base_up[-1]} ms ($baseline), loadavg $(cat /proc/loadavg)"
    done
fi
echo "outer boot (QEMU start to userspace marker), ms: $(printf '%s\n' "${outer[@]}" | range)"
[[ -n $baseline ]] && echo "outer boot, baseline kernel, ms: $(printf '%s\n' "${base_up[@]}" | range)"
echo "nested boot to marker (ember-nvm start), ms: $(printf '%s\n' "${nested_up[@]}" | range)"
echo "nested boot to power-off (ember-nvm start), ms: $(printf '%s\n' "${nested_off[@]}" | range)"
echo "mmio round trip, ns per UART LSR read: $(printf '%s\n' "${mmio_ns[@]}" | range)"
echo "loadavg now: $(cat /proc/loadavg)"
exit $fail
