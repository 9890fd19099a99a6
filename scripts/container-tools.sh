#!/usr/bin/env bash
# Sets up the container engines Ember's OCI runtime (ember-oci) is tested under, on a Debian 12 host
# as root, inside a sandbox like the CI machine's (no systemd, cgroup v1 hybrid, RLIMIT_NOFILE capped):
#
#   podman (+ conmon), containerd (+ ctr, the io.containerd.runc.v2 shim), runc (the baseline runtime),
#   umoci, skopeo, mmdebstrap, cpio (for scripts/container-images.sh)
#
# Ember's podman uses its own configuration and its own image store, in files this script writes and
# owns, never /etc/containers:
#   $EMBER_CACHE/containers/containers.conf   CONTAINERS_CONF: runtime, cgroups, events, ulimits
#   $EMBER_CACHE/containers/storage.conf      CONTAINERS_STORAGE_CONF: /var/lib/containers/ember
# and a containerd of its own (config $EMBER_CACHE/containers/containerd.toml, socket
# /run/containerd/containerd.sock, log and pid file in /run/ember-containerd/), started in the
# background when none is running.
#
# Usage: scripts/container-tools.sh [COMMAND]
#   setup (default)    install, write the configuration, start containerd; prints the environment
#   env                print the environment for podman/ctr:  eval "$(scripts/container-tools.sh env)"
#   stop-containerd    stop the containerd this script started
#   baseline [N]       time `podman run --runtime runc ... echo hi` N times (default 10, hyperfine)
#   startup [N]        `podman run ... echo hi` to its first output line, runc on the native busybox
#                      against ember-oci on the riscv64 one, N rounds alternating (default 5)
# docs/containers.md explains every setting.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONF_DIR=${EMBER_CACHE:-${XDG_CACHE_HOME:-$(cd ~ && pwd)/.cache}/ember}/containers
CONTAINERS_CONF_FILE=$CONF_DIR/containers.conf
STORAGE_CONF_FILE=$CONF_DIR/storage.conf
CONTAINERD_CONF_FILE=$CONF_DIR/containerd.toml
# Ember's image store, apart from any other podman store on the machine.
GRAPH_ROOT=/var/lib/containers/ember
RUN_ROOT=/run/containers/ember
CONTAINERD_RUN=/run/ember-containerd
CONTAINERD_SOCKET=/run/containerd/containerd.sock

PACKAGES=(podman conmon runc containerd umoci skopeo mmdebstrap cpio)

# The storage driver for podman and the snapshotter for containerd: overlay when this kernel lets
# root mount an overlayfs on the store's file system (true here: ext4 under a 6.x kernel), else the
# copying ones (vfs, native), which work everywhere.
overlay_works() {
    local d ok=1
    mkdir -p "$(dirname "$GRAPH_ROOT")"
    d=$(mktemp -d "$(dirname "$GRAPH_ROOT")/.ember-overlay-probe.XXXXXX")
    mkdir "$d/lower" "$d/upper" "$d/work" "$d/merged"
    if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
        umount "$d/merged"
        ok=0
    fi
    rm -rf "$d"
    return $ok
}

# podman 4.3 (as root) puts RLIMIT_NOFILE and RLIMIT_NPROC of 1048576 into every container's
# config.json unless containers.conf names them; the sandbox caps both hard limits lower and gives
# no CAP_SYS_RESOURCE, so runc's prlimit fails ("error setting rlimit type 7/6: operation not
# permitted"). The container gets the hard limits podman itself runs with: this shell's RLIMIT_NOFILE,
# and RLIMIT_NPROC as podman lowers it for itself at start (to 32768, seen in /proc/<podman>/limits).
PODMAN_NPROC_CAP=32768
ulimit_value() { # ulimit_value HARD_LIMIT [CAP]
    local v=$1 cap=${2:-}
    [[ $v == unlimited ]] && v=1048576
    [[ -n $cap ]] && (( v > cap )) && v=$cap
    echo "$v"
}

write_if_changed() { # write_if_changed FILE (content on stdin)
    local tmp
    tmp=$(mktemp "$1.XXXXXX")
    cat >"$tmp"
    if cmp -s "$tmp" "$1" 2>/dev/null; then rm -f "$tmp"; else mv -f "$tmp" "$1"; say "wrote $1"; fi
}

write_config() {
    local driver snapshotter nofile nproc
    if overlay_works; then driver=overlay snapshotter=overlayfs; else driver=vfs snapshotter=native; fi
    nofile=$(ulimit_value "$(ulimit -Hn)")
    nproc=$(ulimit_value "$(ulimit -Hu)" "$PODMAN_NPROC_CAP")
    mkdir -p "$CONF_DIR"
    write_if_changed "$CONTAINERS_CONF_FILE" <<EOF
# Written by scripts/container-tools.sh; read by podman through CONTAINERS_CONF. See docs/containers.md.
[containers]
# The sandbox caps these hard limits and gives no CAP_SYS_RESOURCE to raise them; podman's default
# (1048576 each) makes runc fail with "error setting rlimit type 7: operation not permitted".
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
# No systemd here: cgroups through cgroupfs, events to a file instead of the journal.
cgroup_manager = "cgroupfs"
events_logger = "file"
# crun 1.8 refuses cgroup v1 hybrid hierarchies ("cgroups in hybrid mode not supported").
runtime = "runc"
# Kept apart from the tmp_dir of any other podman store, so that each store notices a reboot.
tmp_dir = "$RUN_ROOT/libpod"

# The runtimes podman passes --log-format=json --log <userdata>/oci-log (conmon reads errors from it).
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "ember-oci"]

[engine.runtimes]
runc = ["/usr/bin/runc", "/usr/sbin/runc"]
ember-oci = ["$EMBER_ROOT/ember-oci", "/usr/local/bin/ember-oci"]
EOF
    write_if_changed "$STORAGE_CONF_FILE" <<EOF
# Written by scripts/container-tools.sh; read by podman and skopeo through CONTAINERS_STORAGE_CONF.
[storage]
driver = "$driver"
graphroot = "$GRAPH_ROOT"
runroot = "$RUN_ROOT"
EOF
    write_if_changed "$CONTAINERD_CONF_FILE" <<EOF
# Written by scripts/container-tools.sh: the containerd it starts. See docs/containers.md.
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
# The CRI plugin (Kubernetes) needs CNI and a kubelet; ctr does not. ctr picks the snapshotter
# ($snapshotter here) from CONTAINERD_SNAPSHOTTER, see 'env'.
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CONTAINERD_SOCKET"
EOF
    SNAPSHOTTER=$snapshotter
}

containerd_running() { ctr --address "$CONTAINERD_SOCKET" version >/dev/null 2>&1; }

start_containerd() {
    if containerd_running; then
        say "containerd already answers on $CONTAINERD_SOCKET"
        return 0
    fi
    mkdir -p "$CONTAINERD_RUN"
    say "starting containerd (log: $CONTAINERD_RUN/containerd.log)"
    # setsid: out of this shell's process group, so it outlives the script and its job control.
    # Descriptors beyond 0-2 that this shell inherited (a CI runner's pipes) are closed first: the
    # daemon, its shims and every runtime they start would hold them open, and a reader waiting
    # for their end would wait forever.
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            (( fd > 2 )) && eval "exec $fd>&-" 2>/dev/null
        done
        exec setsid containerd --config "$CONTAINERD_CONF_FILE" >>"$CONTAINERD_RUN/containerd.log" 2>&1 </dev/null
    ) &
    echo $! >"$CONTAINERD_RUN/containerd.pid"
    local i
    for i in $(seq 1 50); do
        containerd_running && break
        kill -0 "$(cat "$CONTAINERD_RUN/containerd.pid")" 2>/dev/null ||
            { tail -20 "$CONTAINERD_RUN/containerd.log" >&2; die "containerd exited; see $CONTAINERD_RUN/containerd.log"; }
        sleep 0.2
    done
    containerd_running || die "containerd did not answer on $CONTAINERD_SOCKET within 10 s; see $CONTAINERD_RUN/containerd.log"
    say "containerd running, pid $(cat "$CONTAINERD_RUN/containerd.pid"); stop it with: $0 stop-containerd"
}

stop_containerd() {
    local pid
    pid=$(cat "$CONTAINERD_RUN/containerd.pid" 2>/dev/null) || die "no $CONTAINERD_RUN/containerd.pid: this script did not start a containerd"
    if kill -0 "$pid" 2>/dev/null && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == containerd ]]; then
        kill "$pid"
        say "stopped containerd (pid $pid)"
    fi
    rm -f "$CONTAINERD_RUN/containerd.pid"
}

print_env() {
    local snapshotter=${SNAPSHOTTER:-}
    [[ -n $snapshotter ]] || snapshotter=$(grep -q '^driver = "overlay"' "$STORAGE_CONF_FILE" 2>/dev/null && echo overlayfs || echo native)
    cat <<EOF
export CONTAINERS_CONF=$CONTAINERS_CONF_FILE
export CONTAINERS_STORAGE_CONF=$STORAGE_CONF_FILE
export CONTAINERD_ADDRESS=$CONTAINERD_SOCKET
export CONTAINERD_NAMESPACE=default
export CONTAINERD_SNAPSHOTTER=$snapshotter
EOF
}

setup() {
    [[ $(id -u) == 0 ]] || die "run as root: podman and containerd are used rootful here"
    ensure_packages "${PACKAGES[@]}"
    write_config
    mkdir -p "$GRAPH_ROOT" "$RUN_ROOT"
    start_containerd
    say "podman and ctr are ready; in your shell:  eval \"\$($0 env)\""
    print_env
}

# The closing note's baseline: runc under podman, from the command to its first line of output
# (what a user waits for) and to its end (podman's clean-up included, hyperfine).
BASELINE_CMD=(podman run --runtime runc --rm --network none localhost/ember-native-busybox echo hi)
baseline() {
    local runs=${1:-10} i t0 t1 firsts=()
    ensure_packages hyperfine
    eval "$(print_env)"
    podman image exists localhost/ember-native-busybox:latest ||
        die "no localhost/ember-native-busybox image; run scripts/container-images.sh first"
    say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    "${BASELINE_CMD[@]}" >/dev/null   # warm-up
    for ((i = 0; i < runs; i++)); do
        t0=$(date +%s%N)
        t1=$("${BASELINE_CMD[@]}" | { read -r _; date +%s%N; cat >/dev/null; })
        firsts+=($(( (t1 - t0) / 1000000 )))
    done
    printf '%s\n' "${firsts[@]}" | sort -n | awk -v runs="$runs" '
        { v[NR] = $1; sum += $1 }
        END { printf "to first output line, %d runs: median %d ms, mean %.0f ms, min %d ms, max %d ms\n",
                     runs, v[int((NR + 1) / 2)], sum / NR, v[1], v[NR] }'
    hyperfine --warmup 2 --runs "$runs" --style basic "${BASELINE_CMD[*]}"
    say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Milliseconds from starting "$@" to its first line of output.
first_line_ms() {
    local t0 t1
    t0=$(date +%s%N)
    t1=$("$@" 2>/dev/null | { read -r _; date +%s%N; cat >/dev/null; })
    echo $(( (t1 - t0) / 1000000 ))
}

startup() {
    local rounds=${1:-5} i runc=() ember=()
    eval "$(print_env)"
    local runc_cmd=(podman run --runtime runc --rm --network none localhost/ember-native-busybox echo hi)
    local ember_cmd=(podman run --runtime "$EMBER_ROOT/ember-oci" --rm --network none localhost/ember-busybox echo hi)
    say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    "${runc_cmd[@]}" >/dev/null 2>&1; "${ember_cmd[@]}" >/dev/null 2>&1   # warm-up (and ember-oci's AOT cache)
    for ((i = 0; i < rounds; i++)); do
        runc+=($(first_line_ms "${runc_cmd[@]}"))
        ember+=($(first_line_ms "${ember_cmd[@]}"))
    done
    summary() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %d ms (%d-%d)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
    echo "podman run ... echo hi, to the first output line, $rounds rounds:"
    echo "  runc, native busybox:      $(summary "${runc[@]}")"
    echo "  ember-oci, riscv64 busybox: $(summary "${ember[@]}")"
    echo "  per round (runc/ember ms): $(for ((i = 0; i < rounds; i++)); do printf '%s/%s ' "${runc[i]}" "${ember[i]}"; done)"
    say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

case "${1:-setup}" in
    setup) setup ;;
    env) print_env ;;
    stop-containerd) stop_containerd ;;
    baseline) baseline "${2:-10}" ;;
    startup) startup "${2:-5}" ;;
    *) die "usage: $0 [setup|env|stop-containerd|baseline [RUNS]]" ;;
esac
