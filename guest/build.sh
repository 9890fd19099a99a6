#!/usr/bin/env bash
# Build Ember's default guest from Debian packages only:
#   guest/out/Image           Linux 6.1 RISC-V kernel (linux-source-6.1, allnoconfig + guest/kernel.config)
#   guest/out/initramfs.cpio  uncompressed newc cpio: static busybox (Debian busybox source package),
#                             guest/rootfs/, /usr/bin/vsock-cat (guest/tools/vsock-cat.c),
#                             /usr/bin/ember-agent (guest/agent/ember-agent.c)
#   guest/out/rootfs.ext4     64 MiB sparse ext4 image with the same userspace (root=/dev/vda rw); pristine:
#                             launchers boot a per-run copy, never this file or the cached one
#   guest/out/nested.ext4     32 MiB sparse ext4 image for a nested VM under the guest's KVM (issue 13), attached
#                             read-only as a second drive: /ember-nvm (guest/tools/ember-nvm.c, a small KVM VMM),
#                             /Image (the same kernel), /nested.cpio (/init = guest/tools/nested-init.c and
#                             /dev/console only). In the guest: mount -o ro /dev/vda /mnt;
#                             /mnt/ember-nvm /mnt/Image /mnt/nested.cpio. Not part of the default initramfs.
#
# Results are cached outside the repository, keyed by the inputs:
#   ${EMBER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ember}/guest/<key>/
# Usage: guest/build.sh [--force]    (--force or EMBER_GUEST_FORCE=1: ignore cached results)
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=$GUEST_DIR/out
# ~ falls back to the passwd entry when HOME is unset (as in some CI environments).
CACHE_ROOT=${EMBER_CACHE:-${XDG_CACHE_HOME:-$(cd ~ && pwd)/.cache}/ember}/guest
JOBS=$(nproc)
CROSS=riscv64-linux-gnu-
FORCE=${EMBER_GUEST_FORCE:-0}
case "${1:-}" in
    "") ;;
    --force) FORCE=1 ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

# Fixed build metadata so that rebuilds from the same inputs are comparable.
export KBUILD_BUILD_USER=ember KBUILD_BUILD_HOST=ember KBUILD_BUILD_TIMESTAMP="2024-01-01 00:00:00 UTC"
export SOURCE_DATE_EPOCH=1704067200
export LC_ALL=C

# Debian packages needed on the build host.
#   kernel:  host gcc/libc6-dev (kconfig, fixdep, dtc), make, flex+bison (kconfig, dtc), bc (timeconst.h),
#            xz-utils (the linux-source tarball). libssl-dev/libelf-dev are NOT needed with this config
#            (no module signing, no trusted keyring, no objtool/BTF on riscv).
#   busybox: dpkg-dev (apt-get source unpacks with dpkg-source; brings patch), the riscv64 cross toolchain
#            and cross glibc (static link; also for guest/tools/vsock-cat.c).
#   rootfs.ext4: e2fsprogs (mke2fs -d, debugfs, e2fsck).
PACKAGES=(gcc libc6-dev make flex bison bc xz-utils dpkg-dev
          gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-dev-riscv64-cross
          linux-source-6.1 e2fsprogs)

log() { echo "[guest] $*" >&2; }
die() { echo "[guest] ERROR: $*" >&2; exit 1; }
now() { date +%s; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

# run_logged LOG CMD...: run CMD with all output appended to LOG; on failure print the log path and its tail.
run_logged() {
    local logf=$1; shift
    echo "+ $*" >>"$logf"
    if ! "$@" >>"$logf" 2>&1; then
        echo "[guest] ERROR: command failed: $*" >&2
        echo "[guest] full log: $logf" >&2
        echo "[guest] ---- last 40 lines of $logf ----" >&2
        tail -n 40 "$logf" >&2
        exit 1
    fi
}

APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED == 0 ]]; then
        log "apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
}

# ---------------------------------------------------------------------------------------------------------
# 1. Host packages
# ---------------------------------------------------------------------------------------------------------
ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        # (no `dpkg -s | grep -q` here: with pipefail, grep's early exit can SIGPIPE dpkg)
        [[ $(dpkg -s "$p" 2>/dev/null || true) == *$'\nStatus: install ok installed\n'* ]] || missing+=("$p")
    done
    [[ ${#missing[@]} == 0 ]] && return 0
    if [[ $(id -u) != 0 ]]; then
        die "missing Debian packages: ${missing[*]}
        install them as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    log "installing missing packages: ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install failed for: ${missing[*]}"
}

# ---------------------------------------------------------------------------------------------------------
# 2. deb-src entries (for `apt-get source busybox`)
# ---------------------------------------------------------------------------------------------------------
DEBSRC_FILE=/etc/apt/sources.list.d/ember-deb-src.sources

have_deb_src() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] && grep -Eqs '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && grep -Eqsi '^Types:.*\bdeb-src\b' "$f" && return 0
    done
    return 1
}

# Write deb-src twins of the enabled Debian (deb822 and one-line) "deb" entries.
write_deb_src() {
    local tmp f
    tmp=$(mktemp)
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
             {
               n = split($0, L, "\n"); types = 0; debian = 0; enabled = 1; out = ""
               for (i = 1; i <= n; i++) {
                 if (L[i] ~ /^[ \t]*#/) continue
                 if (tolower(L[i]) ~ /^types:/) { if (L[i] ~ /[ \t]deb([ \t]|$)/) types = 1; out = out "Types: deb-src\n"; continue }
                 if (tolower(L[i]) ~ /^uris:/ && L[i] ~ /debian/) debian = 1
                 if (tolower(L[i]) ~ /^enabled:[ \t]*no/) enabled = 0
                 out = out L[i] "\n"
               }
               if (types && debian && enabled) printf "%s\n", out
             }' "$f" >>"$tmp"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        # deb [opts] URI suite components...
        awk '$1 == "deb" && $0 ~ /debian/ {
               opts = ""; i = 2
               if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
               uri = $i; suite = $(i + 1); comps = ""
               for (j = i + 2; j <= NF; j++) comps = comps " " $j
               signed = ""
               if (match(opts, /signed-by=[^] ]+/)) signed = "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10) "\n"
               printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n%s\n", uri, suite, comps, signed
             }' "$f" >>"$tmp"
    done
    [[ -s $tmp ]] || { rm -f "$tmp"; die "no Debian 'deb' entries found in /etc/apt to derive deb-src entries from"; }
    { echo "# Added by Ember guest/build.sh: source entries for 'apt-get source busybox'"; cat "$tmp"; } >"$DEBSRC_FILE"
    rm -f "$tmp"
    log "wrote $DEBSRC_FILE"
}

ensure_deb_src() {
    if ! have_deb_src; then
        [[ $(id -u) == 0 ]] || die "no deb-src entries in /etc/apt; as root, add deb-src twins of your Debian entries (see $0) and run apt-get update"
        write_deb_src
        APT_UPDATED=0
        apt_update_once
    fi
    if ! apt-cache showsrc busybox >/dev/null 2>&1 || [[ -z $(apt-cache showsrc busybox 2>/dev/null) ]]; then
        [[ $(id -u) == 0 ]] || die "busybox source package not known to apt; run apt-get update as root"
        apt_update_once
    fi
}

# Version that `apt-get source busybox` would fetch (the highest one apt knows).
busybox_src_version() {
    local v best=""
    for v in $(apt-cache showsrc busybox 2>/dev/null |
               awk '/^Package: /{p=$2} /^Version: /{ if (p == "busybox") print $2 }'); do
        if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
    done
    echo "$best"
}

# ---------------------------------------------------------------------------------------------------------
# 3. Cache keys
# ---------------------------------------------------------------------------------------------------------
hash_inputs() { # hash_inputs "label=value"... -- files...
    local x
    {
        while [[ $# -gt 0 && $1 != "--" ]]; do echo "$1"; shift; done
        [[ $# -gt 0 ]] && shift
        for x in "$@"; do echo "== ${x#"$GUEST_DIR"/}"; cat "$x"; done
    } | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------------------------------------------------
# 4. Kernel
# ---------------------------------------------------------------------------------------------------------
kmake() { make -C "$KSRC" O="$KBUILD" ARCH=riscv CROSS_COMPILE=$CROSS "$@"; }

verify_kernel_config() {
    local cfg=$1 frag=$2 bad=() line sym
    while IFS= read -r line; do
        line=${line%%[[:space:]]}
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
            grep -Fxq -- "$line" "$cfg" || bad+=("$line (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$cfg" || echo 'absent'))")
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            sym=${BASH_REMATCH[1]}
            grep -Eq "^${sym}=" "$cfg" && bad+=("$line (got: $(grep -E "^${sym}=" "$cfg"))")
        fi
    done <"$frag"
    if [[ ${#bad[@]} -gt 0 ]]; then
        echo "[guest] ERROR: kernel config fragment options that did not end up in $cfg:" >&2
        printf '[guest]   %s\n' "${bad[@]}" >&2
        exit 1
    fi
}

build_kernel() { # build_kernel DEST_DIR
    local dest=$1 work logf t0
    work=$CACHE_ROOT/work/linux-${LINUX_VER//:/_}
    KSRC=$work/src
    KBUILD=$work/build
    logf=$dest.log
    : >"$logf"
    t0=$(now)
    if [[ ! -f $KSRC/.ember-extracted ]]; then
        log "extracting /usr/src/linux-source-6.1.tar.xz"
        rm -rf "$KSRC"; mkdir -p "$KSRC"
        run_logged "$logf" tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$KSRC" --strip-components=1
        touch "$KSRC/.ember-extracted"
    fi
    [[ $FORCE == 1 ]] && rm -rf "$KBUILD"
    mkdir -p "$KBUILD"
    log "configuring kernel (allnoconfig + guest/kernel.config)"
    rm -f "$KBUILD/.config"
    run_logged "$logf" kmake KCONFIG_ALLCONFIG="$GUEST_DIR/kernel.config" allnoconfig
    verify_kernel_config "$KBUILD/.config" "$GUEST_DIR/kernel.config"
    log "building kernel Image with -j$JOBS (from scratch: ~4-6 min on 2 idle cores; log: $logf)"
    run_logged "$logf" kmake -j"$JOBS" Image
    mkdir -p "$dest.tmp"
    cp "$KBUILD/arch/riscv/boot/Image" "$dest.tmp/Image"
    cp "$KBUILD/.config" "$dest.tmp/config"
    cp "$KBUILD/System.map" "$dest.tmp/System.map"
    mv "$logf" "$dest.tmp/build.log"
    rm -rf "$dest"; mv "$dest.tmp" "$dest"
    log "kernel built in $(( $(now) - t0 ))s: $dest/Image ($(stat -c %s "$dest/Image") bytes)"
}

# ---------------------------------------------------------------------------------------------------------
# 5. Busybox
# ---------------------------------------------------------------------------------------------------------
apply_busybox_fragment() { # apply_busybox_fragment .config fragment
    local cfg=$1 frag=$2 line sym
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= || $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
            sym=${BASH_REMATCH[1]}
            sed -i -E "/^(# )?${sym}[= ]/d" "$cfg"
            echo "$line" >>"$cfg"
        fi
    done <"$frag"
}

build_busybox() { # build_busybox DEST_DIR
    local dest=$1 work srcdir logf t0 line sym
    work=$CACHE_ROOT/work/busybox-${BUSYBOX_VER//:/_}
    logf=$dest.log
    : >"$logf"
    t0=$(now)
    if [[ ! -f $work/.ember-extracted ]]; then
        log "fetching busybox $BUSYBOX_VER source (apt-get source)"
        rm -rf "$work"; mkdir -p "$work"
        (cd "$work" && run_logged "$logf" apt-get source -q "busybox=$BUSYBOX_VER")
        touch "$work/.ember-extracted"
    fi
    srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' | head -n 1)
    [[ -n $srcdir && -f $srcdir/Makefile ]] || die "busybox source tree not found under $work"
    [[ $FORCE == 1 ]] && run_logged "$logf" make -C "$srcdir" distclean
    log "configuring busybox (defconfig + guest/busybox.config)"
    run_logged "$logf" make -C "$srcdir" defconfig
    apply_busybox_fragment "$srcdir/.config" "$GUEST_DIR/busybox.config"
    run_logged "$logf" bash -c "yes '' | make -C '$srcdir' oldconfig"
    while IFS= read -r line; do   # verify the fragment survived oldconfig
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
            grep -Fxq -- "$line" "$srcdir/.config" || die "busybox option did not stick: $line"
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
            sym=${BASH_REMATCH[1]}
            ! grep -Eq "^${sym}=" "$srcdir/.config" || die "busybox option did not stick: $line"
        fi
    done <"$GUEST_DIR/busybox.config"
    log "building static busybox with -j$JOBS (from scratch: ~2 min on 2 idle cores; log: $logf)"
    run_logged "$logf" make -C "$srcdir" -j"$JOBS" CROSS_COMPILE=$CROSS busybox busybox.links
    if [[ $(${CROSS}readelf -l "$srcdir/busybox") == *INTERP* ]]; then
        die "busybox is not statically linked (has a PT_INTERP); see $logf"
    fi
    mkdir -p "$dest.tmp"
    cp "$srcdir/busybox" "$srcdir/busybox.links" "$dest.tmp/"
    cp "$srcdir/.config" "$dest.tmp/config"
    mv "$logf" "$dest.tmp/build.log"
    rm -rf "$dest"; mv "$dest.tmp" "$dest"
    log "busybox built in $(( $(now) - t0 ))s: $dest/busybox ($(stat -c %s "$dest/busybox") bytes)"
}

# ---------------------------------------------------------------------------------------------------------
# 6. Userspace: one list, two images
# ---------------------------------------------------------------------------------------------------------
# The guest userspace is described once, as a gen_init_cpio list (dir/file/slink/nod lines, owner 0:0);
# the initramfs and the ext4 root disk are both made from that list, so they hold the same files.

build_guest_c() { # build_guest_c SOURCE DEST_FILE: static riscv64 binary from one C file under guest/
    ${CROSS}gcc -static -Os -s -Wall -Wextra -Werror -o "$2" "$GUEST_DIR/$1" || die "compiling guest/$1 failed"
}

userspace_list() { # userspace_list BUSYBOX_DIR TOOLS_DIR: print the gen_init_cpio list of the userspace
    local bb=$1 tools=$2 d f
    # base directories plus every directory of guest/rootfs/
    { printf '%s\n' /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc /mnt /run /var
      (cd "$GUEST_DIR/rootfs" && find . -mindepth 1 -type d | sed 's|^\.||'); } | LC_ALL=C sort -u |
    while read -r d; do
        case $d in
            /tmp) echo "dir $d 1777 0 0" ;;
            /root) echo "dir $d 0700 0 0" ;;
            *) echo "dir $d 0755 0 0" ;;
        esac
    done
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "nod /dev/null 0666 0 0 c 1 3"
    echo "file /bin/busybox $bb/busybox 0755 0 0"
    echo "slink /init /bin/busybox 0777 0 0"
    echo "file /usr/bin/vsock-cat $tools/vsock-cat 0755 0 0"
    echo "file /usr/bin/ember-agent $tools/ember-agent 0755 0 0"
    # every file of guest/rootfs/ (etc/inittab, etc/init.d/rcS, ...); executable ones get 0755
    for f in "${ROOTFS_FILES[@]}"; do
        if [[ -x $f ]]; then echo "file ${f#"$GUEST_DIR/rootfs"} $f 0755 0 0"
        else echo "file ${f#"$GUEST_DIR/rootfs"} $f 0644 0 0"; fi
    done
    # applet symlinks, from busybox.links (e.g. /bin/sh, /sbin/poweroff, /usr/bin/sha256sum)
    grep -v '^/bin/busybox$' "$bb/busybox.links" | LC_ALL=C sort -u | while read -r l; do
        echo "slink $l /bin/busybox 0777 0 0"
    done
}

# Initramfs: gen_init_cpio from the kernel source (device nodes without root).
build_initramfs() { # build_initramfs LIST DEST_FILE
    local list=$1 dest=$2 tmp gic src
    tmp=$(mktemp -d)
    gic=$tmp/gen_init_cpio
    src=$CACHE_ROOT/work/linux-${LINUX_VER//:/_}/src/usr/gen_init_cpio.c
    if [[ ! -f $src ]]; then
        tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$tmp" --wildcards '*/usr/gen_init_cpio.c'
        src=$(find "$tmp" -name gen_init_cpio.c | head -n 1)
    fi
    gcc -O2 -o "$gic" "$src"
    "$gic" -t "$SOURCE_DATE_EPOCH" "$list" >"$dest.tmp"
    mv "$dest.tmp" "$dest"
    rm -rf "$tmp"
}

# ext4 disk (the root disk, nested.ext4): a sparse image made by `mke2fs -d` from a staging tree (no root,
# no loop mount), with journal. mke2fs copies owners and ctimes and cannot create device nodes as non-root,
# so debugfs then sets every listed path to 0:0 and SOURCE_DATE_EPOCH and makes the nodes; with the fixed
# UUID and hash seed the image is byte-for-byte reproducible. The guest writes to the root disk: that is
# the pristine image, launchers boot a per-run copy of it.
ROOTFS_EXT4_MIB=64
NESTED_EXT4_MIB=32
build_ext4() { # build_ext4 LIST DEST_FILE SIZE_MIB LABEL NAME (NAME seeds the UUID)
    local list=$1 dest=$2 mib=$3 label=$4 name=$5 tmp stage cmds logf kind path f3 f4 f5 f6 f7 f8 type uuid
    tmp=$(mktemp -d)
    stage=$tmp/stage
    cmds=$tmp/debugfs.cmds
    logf=$tmp/rootfs.log
    mkdir "$stage"
    : >"$cmds"
    # list lines: dir PATH MODE 0 0 | file PATH SRC MODE 0 0 | slink PATH TARGET MODE 0 0
    #             | nod PATH MODE 0 0 c|b MAJOR MINOR
    while read -r kind path f3 f4 f5 f6 f7 f8; do
        case $kind in
            dir) mkdir -p "$stage$path"; chmod "$f3" "$stage$path" ;;
            file) install -m "$f4" "$f3" "$stage$path" ;;
            slink) ln -s "$f3" "$stage$path" ;;
            nod) if [[ $f6 == c ]]; then type=8#20000; else type=8#60000; fi
                 # (debugfs mknod takes a name in the current directory, not a path)
                 printf 'cd %s\nmknod %s %s %s %s\ncd /\n' "${path%/*}" "${path##*/}" "$f6" "$f7" "$f8" >>"$cmds"
                 printf 'sif %s mode 0%o\n' "$path" $(( type | 8#$f3 )) >>"$cmds" ;;
            *) die "unknown userspace list entry: $kind $path" ;;
        esac
        # (mke2fs -d copies the staging tree's ctime, which touch cannot set)
        printf 'sif %s uid 0\nsif %s gid 0\nsif %s ctime @%s\n' "$path" "$path" "$path" "$SOURCE_DATE_EPOCH" >>"$cmds"
    done <"$list"
    find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    # fixed UUID and directory hash seed (derived from the cache key) instead of random ones
    uuid=$(echo "ember-$name-$KEY" | sha256sum | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
    rm -f "$dest.tmp"
    truncate -s "${mib}M" "$dest.tmp"
    # lazy_*_init=0: initialise inode tables and journal now, not in the guest (slow under interpretation)
    export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
    run_logged "$logf" mke2fs -q -F -t ext4 -b 4096 -m 0 -L "$label" -U "$uuid" \
        -E "hash_seed=$uuid,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0" -d "$stage" "$dest.tmp"
    # debugfs -f exits 0 even when a command fails; it echoes each command as "debugfs: ...", so any
    # other output line (after its version banner; mknod reports the inode) is an error.
    run_logged "$tmp/debugfs.log" debugfs -w -f "$cmds" "$dest.tmp"
    if grep -Ev '^(\+ |debugfs: |debugfs [0-9]|Allocated inode: [0-9]+$)' "$tmp/debugfs.log" >&2; then
        die "debugfs reported errors while fixing up the ext4 image $dest"
    fi
    run_logged "$logf" e2fsck -fn "$dest.tmp"
    unset E2FSPROGS_FAKE_TIME
    mv "$dest.tmp" "$dest"
    rm -rf "$tmp"
}

# Nested VM (issue 13): the initramfs its kernel runs and the drive that carries VMM, kernel and initramfs
# into the guest. The nested initramfs is /init alone (mount points are made by /init itself).
nested_cpio_list() { # nested_cpio_list TOOLS_DIR
    echo "dir /dev 0755 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "file /init $1/nested-init 0755 0 0"
}

nested_ext4_list() { # nested_ext4_list TOOLS_DIR IMAGE NESTED_CPIO
    echo "file /ember-nvm $1/ember-nvm 0755 0 0"
    echo "file /Image $2 0644 0 0"
    echo "file /nested.cpio $3 0644 0 0"
}

# ---------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------
T_START=$(now)
ensure_packages
ensure_deb_src

LINUX_VER=$(pkgver linux-source-6.1)
GCC_VER=$(pkgver gcc-riscv64-linux-gnu)
BINUTILS_VER=$(pkgver binutils-riscv64-linux-gnu)
LIBC_VER=$(pkgver libc6-dev-riscv64-cross)
E2FS_VER=$(pkgver e2fsprogs)
BUSYBOX_VER=$(busybox_src_version)
[[ -n $LINUX_VER && -n $GCC_VER && -n $BUSYBOX_VER ]] || die "could not determine package versions"

SCRIPTS=("$GUEST_DIR/build.sh")
mapfile -t ROOTFS_FILES < <(find "$GUEST_DIR/rootfs" -type f | LC_ALL=C sort)
KERNEL_KEY=$(hash_inputs "linux-source-6.1=$LINUX_VER" "gcc-riscv64-linux-gnu=$GCC_VER" \
    "binutils-riscv64-linux-gnu=$BINUTILS_VER" -- "$GUEST_DIR/kernel.config" "${SCRIPTS[@]}")
BUSYBOX_KEY=$(hash_inputs "busybox-src=$BUSYBOX_VER" "gcc-riscv64-linux-gnu=$GCC_VER" \
    "binutils-riscv64-linux-gnu=$BINUTILS_VER" "libc6-dev-riscv64-cross=$LIBC_VER" -- \
    "$GUEST_DIR/busybox.config" "${SCRIPTS[@]}")
KEY=$(hash_inputs "kernel=$KERNEL_KEY" "busybox=$BUSYBOX_KEY" "linux-source-6.1=$LINUX_VER" \
    "libc6-dev-riscv64-cross=$LIBC_VER" "e2fsprogs=$E2FS_VER" \
    "rootfs=$(cd "$GUEST_DIR/rootfs" && find . -printf '%y %m %p\n' | LC_ALL=C sort)" -- \
    "${ROOTFS_FILES[@]}" "$GUEST_DIR/tools/vsock-cat.c" "$GUEST_DIR/agent/ember-agent.c" \
    "$GUEST_DIR/tools/ember-nvm.c" "$GUEST_DIR/tools/nested-init.c" "${SCRIPTS[@]}")
FINAL=$CACHE_ROOT/$KEY

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9   # one build at a time per cache

ARTEFACTS=(Image initramfs.cpio rootfs.ext4 nested.ext4)
install_out() {
    local a
    mkdir -p "$OUT_DIR"
    for a in "${ARTEFACTS[@]}"; do
        rm -f "$OUT_DIR/$a"
        cp --sparse=always "$FINAL/$a" "$OUT_DIR/$a"
    done
    log "guest/out/Image ($(stat -c %s "$OUT_DIR/Image") bytes), guest/out/initramfs.cpio ($(stat -c %s "$OUT_DIR/initramfs.cpio") bytes), guest/out/rootfs.ext4 ($(stat -c %s "$OUT_DIR/rootfs.ext4") bytes, $(du -k "$OUT_DIR/rootfs.ext4" | cut -f1) KiB allocated), guest/out/nested.ext4 ($(du -k "$OUT_DIR/nested.ext4" | cut -f1) KiB allocated)"
}

if [[ $FORCE != 1 && -f $FINAL/Image && -f $FINAL/initramfs.cpio && -f $FINAL/rootfs.ext4 && -f $FINAL/nested.ext4 ]]; then
    log "cache hit: $FINAL"
    install_out
    exit 0
fi
log "cache miss: key $KEY (kernel $KERNEL_KEY, busybox $BUSYBOX_KEY; linux-source-6.1 $LINUX_VER, busybox $BUSYBOX_VER, gcc-riscv64-linux-gnu $GCC_VER)"

KDIR=$CACHE_ROOT/kernel-$KERNEL_KEY
BDIR=$CACHE_ROOT/busybox-$BUSYBOX_KEY
if [[ $FORCE == 1 || ! -f $KDIR/Image ]]; then build_kernel "$KDIR"; else log "kernel cached: $KDIR"; fi
if [[ $FORCE == 1 || ! -f $BDIR/busybox ]]; then build_busybox "$BDIR"; else log "busybox cached: $BDIR"; fi

rm -rf "$FINAL.tmp"; mkdir -p "$FINAL.tmp"
USERSPACE_TMP=$(mktemp -d)
build_guest_c tools/vsock-cat.c "$USERSPACE_TMP/vsock-cat"
build_guest_c agent/ember-agent.c "$USERSPACE_TMP/ember-agent"
userspace_list "$BDIR" "$USERSPACE_TMP" >"$USERSPACE_TMP/userspace.list"
build_initramfs "$USERSPACE_TMP/userspace.list" "$FINAL.tmp/initramfs.cpio"
build_ext4 "$USERSPACE_TMP/userspace.list" "$FINAL.tmp/rootfs.ext4" "$ROOTFS_EXT4_MIB" ember-root rootfs
build_guest_c tools/ember-nvm.c "$USERSPACE_TMP/ember-nvm"
build_guest_c tools/nested-init.c "$USERSPACE_TMP/nested-init"
nested_cpio_list "$USERSPACE_TMP" >"$USERSPACE_TMP/nested-cpio.list"
build_initramfs "$USERSPACE_TMP/nested-cpio.list" "$USERSPACE_TMP/nested.cpio"
nested_ext4_list "$USERSPACE_TMP" "$KDIR/Image" "$USERSPACE_TMP/nested.cpio" >"$USERSPACE_TMP/nested-ext4.list"
build_ext4 "$USERSPACE_TMP/nested-ext4.list" "$FINAL.tmp/nested.ext4" "$NESTED_EXT4_MIB" ember-nested nested
rm -rf "$USERSPACE_TMP"
cp "$KDIR/Image" "$FINAL.tmp/Image"
cat >"$FINAL.tmp/manifest.txt" <<EOF
key=$KEY
kernel=$KDIR
busybox=$BDIR
linux-source-6.1=$LINUX_VER
busybox-source=$BUSYBOX_VER
gcc-riscv64-linux-gnu=$GCC_VER
binutils-riscv64-linux-gnu=$BINUTILS_VER
libc6-dev-riscv64-cross=$LIBC_VER
e2fsprogs=$E2FS_VER
EOF
rm -rf "$FINAL"; mv "$FINAL.tmp" "$FINAL"
install_out
log "done in $(( $(now) - T_START ))s (cache: $FINAL)"
