#!/usr/bin/env bash
# A nested VM under Ember and under QEMU (issue 13), side by side: boot the default guest
# (Image + initramfs.cpio) with the H extension (Ember: ./ember run --cpu-features +h; QEMU:
# qemu-system-riscv64 -M virt -cpu rv64,h=true,sstc=true), guest/out/nested.ext4 as a read-only
# drive, and in the guest run
#   mount -o ro /dev/vda /mnt; /mnt/ember-nvm --cmdline '... ember.mmio=N' /mnt/Image /mnt/nested.cpio
# then `echo ok` to show the outer guest still works. Prints, per run, the figures:
#   outer boot     VMM start to `ember-guest: userspace up` (host clock; QEMU's includes OpenSBI,
#                  Ember's the JVM's start)
#   nested marker  ember-nvm start to the nested `ember-nested: userspace up` (guest clock)
#   nested off     ember-nvm start to the nested power-off (ember-nvm's exit summary, guest clock)
#   mmio           ns per nested UART LSR read (one KVM_EXIT_MMIO round trip each)
# and a min-max line over the runs per VMM, with /proc/loadavg. With --vmm both (the default) the
# VMMs alternate within each run, and the last lines give Ember's medians over QEMU's.
#
# Usage: guest/nested-compare.sh [--vmm ember|qemu|both] [--runs N] [--mmio N] [--no-h]
#                                [--baseline-kernel IMAGE] [GUEST_DIR]
#   --vmm V                which VMMs to run (default both); Ember runs through ./ember run, which
#                          builds it first when its sources changed
#   GUEST_DIR              Image, initramfs.cpio, nested.ext4 (default guest/out)
#   --runs N               boots (default 3)
#   --mmio N               nested MMIO reads (default 10000)
#   --no-h                 boot without H (QEMU -cpu rv64,h=false; Ember without --cpu-features) and
#                          check that there is no /dev/kvm and that ember-nvm says so (exit 0 when
#                          both hold)
#   --baseline-kernel IMG  also time the outer boot (to the userspace marker) of IMG, e.g. a kernel
#                          built without CONFIG_KVM, on the same initramfs and CPU
# Full console logs go to ${TMPDIR:-/tmp}/nested-compare.*/VMM-run-N.log (the path is printed).
set -euo pipefail
GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$GUEST_DIR/.." && pwd)
runs=3 mmio=10000 no_h=0 baseline="" vmms="ember qemu"
usage() {
    echo "usage: $0 [--vmm ember|qemu|both] [--runs N] [--mmio N] [--no-h] [--baseline-kernel IMAGE] [GUEST_DIR]" >&2
    exit 2
}
while [[ $# -gt 0 ]]; do
    case $1 in
        --vmm) [[ $# -ge 2 ]] || usage
               case $2 in ember|qemu) vmms=$2 ;; both) vmms="ember qemu" ;; *) usage ;; esac; shift 2 ;;
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
logs=$(mktemp -d "${TMPDIR:-/tmp}/nested-compare.XXXXXX")
echo "logs: $logs"
if [[ $no_h == 1 ]]; then cpu=rv64,h=false features=""; else cpu=rv64,h=true,sstc=true features=+h; fi
if [[ $vmms == *ember* ]]; then
    "$ROOT/ember" run --help >/dev/null   # builds Ember now, so that no boot below includes a build
fi

QPID=""
cleanup() { [[ -n $QPID ]] && kill "$QPID" 2>/dev/null || true; }
trap cleanup EXIT

# boot VMM KERNEL LOG: start the VMM (ember or qemu) as a coprocess (named QEMU either way); sets T0
# (start, s) and T_UP (userspace marker, s).
boot() {
    local vmm=$1 kernel=$2 log=$3 line
    T0=$EPOCHREALTIME T_UP=""
    if [[ $vmm == ember ]]; then
        coproc QEMU { exec "$ROOT/ember" run ${features:+--cpu-features "$features"} --kernel "$kernel" \
                           --initrd "$dir/initramfs.cpio" --memory 512M --drive "path=$dir/nested.ext4,ro" 2>&1; }
    else
        coproc QEMU { exec "$GUEST_DIR/qemu-boot.sh" --ro-disk "$dir/nested.ext4" "$kernel" "$dir/initramfs.cpio" \
                           -cpu "$cpu" -smp 1 2>&1; }
    fi
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
            echo "the VMM exited while waiting for '$pattern' (log: $log)" >&2
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
range() { tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1; n++ } END { if (n) printf "%s-%s (%d runs)", lo, hi, n }'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[n++] = $1 } END { if (n) print (n % 2 ? v[(n-1)/2] : (v[n/2-1] + v[n/2]) / 2) }'; }
last() { local a=($1); echo "${a[-1]}"; }

if [[ $no_h == 1 ]]; then
  for vmm in $vmms; do
    log=$logs/$vmm-no-h.log
    boot "$vmm" "$dir/Image" "$log"
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
        echo "$vmm no-h: PASS (no /dev/kvm, ember-nvm exits 1 with a clear message)"
    else
        echo "$vmm no-h: FAIL (ls /dev/kvm status $node, ember-nvm status $nvm; log: $log)"
        exit 1
    fi
  done
  exit 0
fi

declare -A outer nested_up nested_off mmio_ns
declare -a base_up
fail=0
for r in $(seq 1 "$runs"); do
  for vmm in $vmms; do
    log=$logs/$vmm-run-$r.log
    boot "$vmm" "$dir/Image" "$log"
    outer[$vmm]+="$(ms_between "$T0" "$T_UP") "
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
    echo "$vmm run $r: outer boot $(last "${outer[$vmm]}") ms, nested marker ${up:-?} ms, nested off ${off:-?} ms," \
         "mmio ${each:-?} ns/read ($mmio reads), loadavg $loadavg${checks:+, FAILED:$checks}"
    grep -E '^ember-nvm: [0-9]+ exits' "$log" || true
    [[ -z $checks ]] || fail=1
    [[ -n $up ]] && nested_up[$vmm]+="$up "
    [[ -n $off ]] && nested_off[$vmm]+="$off "
    [[ -n $each ]] && mmio_ns[$vmm]+="$each "
  done
done
if [[ -n $baseline ]]; then
    for r in $(seq 1 "$runs"); do
        for vmm in $vmms; do
            log=$logs/$vmm-baseline-$r.log
            boot "$vmm" "$baseline" "$log"
            base_up+=("$vmm $(ms_between "$T0" "$T_UP")")
            stop_qemu
            echo "$vmm baseline run $r: outer boot ${base_up[-1]#* } ms ($baseline), loadavg $(cat /proc/loadavg)"
        done
    done
fi
for vmm in $vmms; do
    echo "$vmm: outer boot (VMM start to userspace marker), ms: $(range <<<"${outer[$vmm]}")"
    [[ -n $baseline ]] && echo "$vmm: outer boot, baseline kernel, ms: $(printf '%s\n' "${base_up[@]}" | sed -n "s/^$vmm //p" | tr '\n' ' ' | range)"
    echo "$vmm: nested boot to marker (ember-nvm start), ms: $(range <<<"${nested_up[$vmm]:-}")"
    echo "$vmm: nested boot to power-off (ember-nvm start), ms: $(range <<<"${nested_off[$vmm]:-}")"
    echo "$vmm: mmio round trip, ns per UART LSR read: $(range <<<"${mmio_ns[$vmm]:-}")"
done
if [[ $vmms == "ember qemu" ]]; then
    for fig in nested_up nested_off mmio_ns; do
        declare -n f=$fig
        e=$(median <<<"${f[ember]:-}") q=$(median <<<"${f[qemu]:-}")
        [[ -n $e && -n $q ]] && awk -v n="$fig" -v e="$e" -v q="$q" \
            'BEGIN { printf "ember/qemu, medians, %s: %s / %s = %.2f\n", n, e, q, e / q }'
        unset -n f
    done
fi
echo "loadavg now: $(cat /proc/loadavg)"
exit $fail
