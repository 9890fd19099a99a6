#!/usr/bin/env bash
# Ember benchmarks (run through the launcher: ./ember bench ...).
#   ./ember bench [--rounds N] [--vcpus N] [--kernel K] [--initrd I] [--only ember|qemu] [--timeout S]
#                 [--engines jit,interp] [--jit-threshold N] [--cpu-features +h|-h]
#       boots the same guest under Ember, once per execution engine (columns ember-jit and
#       ember-interp), and under qemu-system-riscv64 -M virt, alternating, and prints medians and
#       each engine's ratio to QEMU: boot times, CPU workloads typed at the shell, and Ember's engine
#       statistics (--engine-stats) and JVM code cache at exit (dev.ember.bench.Compare; --help lists
#       all options)
#   ./ember bench --devices [--rounds N] [--rootfs FILE] ...
#       the same, but device workloads instead: root on virtio-blk (guest/out/rootfs.ext4), a scratch
#       disk and a user-mode network; sequential dd on the scratch disk and TCP to and from the host (MB/s)
#   ./ember bench --warmup [--seconds N] [--rounds N] ...
#       the warm-up curve: each column boots once per round and runs a chained sha256 job from the
#       prompt on; guest speed (units/s) in each of the first N (30) seconds, with ratios to QEMU
#   ./ember bench api [--rounds N] [--vms N]
#       the control plane's figures: process start to API socket, InstanceStart to userspace (boot
#       timer), resident memory of 1 and N idle 128 MiB microVMs (dev.ember.bench.ControlPlaneFigures)
#   ./ember bench snapshot [--rounds N] [--clones N] [--sizes 128,1024]
#       snapshot figures: snapshot/create time and file sizes, restore to the next instruction in
#       one JVM, a fresh process's run --restore to the guest's answer, clones per second and resident
#       memory per clone, and the cost of dirty-page tracking on a CPU job (dev.ember.bench.SnapshotFigures)
#   ./ember bench soak [--vms N] [--minutes M] [--interval S] [--mem MIB]
#       the soak: N microVMs in one JVM, each looping CPU work, disk writes checked on both sides,
#       TCP echo over the user-mode network and vsock echo, while one more slot creates and destroys
#       VMs; a row of operations, errors, checksum failures, RSS, heap, threads, fds and mappings
#       every interval, a start/end table at the end (dev.ember.bench.SoakFigures)
#   ./ember bench leak [--cycles N] [--every N]
#       creates, boots (agent as PID 1) and destroys a microVM N (1000) times in one JVM and prints
#       threads, fds, direct/mapped buffer memory and mappings against the baseline taken after two
#       cycles (dev.ember.bench.LeakFigures)
#   ./ember bench jmh [JMH options]
#       JMH micro-benchmarks (dev.ember.bench.jmh), e.g. ./ember bench jmh -wi 2 -i 3 -f 1 Interpreter;
#       Region (one translated region, and a call/return loop, against the interpreter) and
#       MemoryFastPath (the translator's TLB-hit loads and stores against the interpreter's)
# Builds every module first when sources changed, and the default guest when no --kernel is given.
set -euo pipefail
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

bench_classpath() {
    printf '%s' "$BENCH_JAR"
    local j
    for j in "$EMBER_ROOT"/ember-bench/target/lib/*.jar; do printf ':%s' "$j"; done
}

find_java25
build_jars

if [ "${1:-}" = jmh ]; then
    shift
    exec "$JAVA" -cp "$(bench_classpath)" org.openjdk.jmh.Main "$@"
fi

if [ "${1:-}" = snapshot ]; then
    shift
    "$EMBER_ROOT/guest/build.sh" >&2
    prepare_aot_cache
    exec "$JAVA" "${JAVA_OPTS_DEFAULT[@]}" -cp "$(bench_classpath)" dev.ember.bench.SnapshotFigures \
        --guest "$EMBER_ROOT/guest/out" --ember-classpath "$(ember_classpath)" \
        --ember-jvm-opts "${JAVA_OPTS_DEFAULT[*]} ${AOT_OPTS[*]} ${EMBER_JAVA_OPTS:-}" "$@"
fi

if [ "${1:-}" = soak ] || [ "${1:-}" = leak ]; then
    figures=SoakFigures
    [ "$1" = leak ] && figures=LeakFigures
    shift
    "$EMBER_ROOT/guest/build.sh" >&2
    exec "$JAVA" "${JAVA_OPTS_DEFAULT[@]}" ${EMBER_JAVA_OPTS:-} -cp "$(bench_classpath)" "dev.ember.bench.$figures" \
        --guest "$EMBER_ROOT/guest/out" "$@"
fi

if [ "${1:-}" = api ]; then
    shift
    "$EMBER_ROOT/guest/build.sh" >&2
    prepare_aot_cache   # the child ember processes start as ./ember does (EMBER_AOT=0: without the cache)
    exec "$JAVA" "${JAVA_OPTS_DEFAULT[@]}" -cp "$(bench_classpath)" dev.ember.bench.ControlPlaneFigures \
        --guest "$EMBER_ROOT/guest/out" --ember-classpath "$(ember_classpath)" \
        --ember-jvm-opts "${JAVA_OPTS_DEFAULT[*]} ${AOT_OPTS[*]} ${EMBER_JAVA_OPTS:-}" "$@"
fi

needs_guest=1
for a in "$@"; do
    case "$a" in --kernel|--kernel=*|-h|--help) needs_guest=0 ;; esac
done
if [ $needs_guest = 1 ]; then
    "$EMBER_ROOT/guest/build.sh" >&2
fi
command -v qemu-system-riscv64 >/dev/null || ensure_packages qemu-system-misc
# Ember runs with the launcher's JVM options, so the benchmark times what ./ember run does.
exec "$JAVA" -cp "$(bench_classpath)" dev.ember.bench.Compare --root "$EMBER_ROOT" \
    --ember-classpath "$(ember_classpath)" --ember-jvm-opts "${JAVA_OPTS_DEFAULT[*]} ${EMBER_JAVA_OPTS:-}" "$@"
