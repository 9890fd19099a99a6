#!/usr/bin/env bash
# Builds the container images Ember's OCI runtime is tested with, from Debian packages only and
# without running a riscv64 binary on the host:
#
#   ember-busybox         riscv64  the guest's static busybox (guest/build.sh) and its applet links,
#                                  /etc/passwd and /etc/group with root and user (uid 1000), empty
#                                  /tmp /proc /sys /dev /root /home/user /data; Cmd /bin/sh
#   ember-python          riscv64  Debian 13 "trixie" python3 and its dependencies, unpacked without
#                                  maintainer scripts (mmdebstrap --variant=extract), docs, man pages
#                                  and locales dropped; the same users; Cmd /usr/bin/python3
#   ember-native-busybox  amd64    Debian 12 busybox-static with its applet links: the runc baseline
#
# Each is an OCI image (umoci), kept with its OCI archive in the cache, keyed by its inputs:
#   ${EMBER_CACHE:-~/.cache/ember}/images/<name>-<key>/{layout/,<name>.oci.tar,manifest.txt}
# and imported as localhost/<name>:latest into Ember's podman store (scripts/container-tools.sh)
# and, when a containerd answers, into containerd's "default" namespace.
#
# Usage: scripts/container-images.sh [--force] [NAME...]    (default: all three)
#   --force or EMBER_IMAGES_FORCE=1: rebuild even when cached (e.g. to pick up trixie updates)
#   EMBER_DEBIAN_MIRROR: the Debian mirror for trixie (default: the one this machine's apt uses)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE_ROOT=${EMBER_CACHE:-${XDG_CACHE_HOME:-$(cd ~ && pwd)/.cache}/ember}/images
GUEST_OUT=$EMBER_ROOT/guest/out
SOURCE_DATE_EPOCH=1704067200
export SOURCE_DATE_EPOCH LC_ALL=C
FORCE=${EMBER_IMAGES_FORCE:-0}
ALL_IMAGES=(ember-busybox ember-python ember-native-busybox)
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

IMAGES=()
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        ember-busybox|ember-python|ember-native-busybox) IMAGES+=("$arg") ;;
        *) die "usage: $0 [--force] [${ALL_IMAGES[*]}]..." ;;
    esac
done
[[ ${#IMAGES[@]} -gt 0 ]] || IMAGES=("${ALL_IMAGES[@]}")

[[ $(id -u) == 0 ]] || die "run as root: image layers keep their files' owners, and podman's store is root's"
eval "$("$EMBER_ROOT/scripts/container-tools.sh" env)"
[[ -f $CONTAINERS_STORAGE_CONF ]] || die "run scripts/container-tools.sh first (no $CONTAINERS_STORAGE_CONF)"
ensure_packages umoci skopeo mmdebstrap cpio busybox-static

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
key_of() { printf '%s\n' "$@" | cat - "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------------
# Root file systems
# ---------------------------------------------------------------------------------------------------

# The files every image has: users root and user (uid 1000), and the directories a container expects.
base_files() { # base_files ROOTFS
    local r=$1
    mkdir -p "$r"/{etc,dev,proc,sys,root,home/user,data,tmp}
    chmod 0700 "$r/root"
    chmod 1777 "$r/tmp"
    chown 1000:1000 "$r/home/user"
    cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$r/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
    chmod 0644 "$r/etc/passwd" "$r/etc/group"
}

# busybox applet links: LINKS holds absolute paths (/bin/sh, /usr/bin/env, ...), all to /bin/busybox.
busybox_links() { # busybox_links ROOTFS LINKS_FILE
    local r=$1 l
    while read -r l; do
        # (the initramfs's /init and /linuxrc are boot entry points, not commands)
        [[ $l == /bin/* || $l == /sbin/* || $l == /usr/* ]] && [[ $l != /bin/busybox ]] || continue
        mkdir -p "$r${l%/*}"
        ln -sfn /bin/busybox "$r$l"
    done <"$2"
}

# The guest's static riscv64 busybox, as guest/build.sh put it into guest/out/initramfs.cpio (built
# there first when missing). Its applets are the initramfs's symlinks to /bin/busybox.
GUEST_BUSYBOX_DIR=
extract_guest_busybox() {
    [[ -n $GUEST_BUSYBOX_DIR ]] && return 0
    if [[ ! -f $GUEST_OUT/initramfs.cpio ]]; then
        say "no guest/out/initramfs.cpio: building the guest first (guest/build.sh)"
        "$EMBER_ROOT/guest/build.sh"
    fi
    GUEST_BUSYBOX_DIR=$(mktemp -d)
    cpio -i --quiet --to-stdout bin/busybox <"$GUEST_OUT/initramfs.cpio" >"$GUEST_BUSYBOX_DIR/busybox"
    [[ -s $GUEST_BUSYBOX_DIR/busybox ]] || die "no bin/busybox in $GUEST_OUT/initramfs.cpio"
    # "lrwxrwxrwx 1 root root 12 Jan 1 2024 bin/sh -> /bin/busybox"
    cpio -itv --quiet <"$GUEST_OUT/initramfs.cpio" |
        awk '$1 ~ /^l/ && $NF == "/bin/busybox" { print "/" $(NF - 2) }' >"$GUEST_BUSYBOX_DIR/busybox.links"
    [[ $(wc -l <"$GUEST_BUSYBOX_DIR/busybox.links") -gt 10 ]] || die "no busybox applet links in $GUEST_OUT/initramfs.cpio"
    [[ $(od -An -tx1 -j18 -N2 "$GUEST_BUSYBOX_DIR/busybox" | tr -d ' ') == f300 ]] ||
        die "guest/out/initramfs.cpio's busybox is not a RISC-V ELF file"
}

rootfs_ember_busybox() { # rootfs_ember_busybox ROOTFS
    local r=$1
    mkdir -p "$r/bin"
    install -m 0755 "$GUEST_BUSYBOX_DIR/busybox" "$r/bin/busybox"
    busybox_links "$r" "$GUEST_BUSYBOX_DIR/busybox.links"
    base_files "$r"
}

rootfs_ember_native_busybox() { # rootfs_ember_native_busybox ROOTFS
    local r=$1
    mkdir -p "$r/bin"
    install -m 0755 /bin/busybox "$r/bin/busybox"
    # (an amd64 binary: listing its applets runs nothing foreign)
    /bin/busybox --list-full | sed 's|^|/|' >"$r.links"
    busybox_links "$r" "$r.links"
    rm -f "$r.links"
    base_files "$r"
}

# The mirror this machine's apt uses for Debian (deb822 URIs: or one-line deb entries).
debian_mirror() {
    local m
    m=${EMBER_DEBIAN_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ /debian\/?$/) { print $i; exit } }')}
    [[ -n $m ]] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*debian\/?$/) { print $i; exit } }')
    echo "${m:-http://deb.debian.org/debian}"
}

# Trixie's python3 and what it depends on, extracted, no maintainer script run (they would run
# riscv64 binaries). What the scripts and alternatives would have made is made here: the merged-/usr
# links (base-files makes them in trixie), and with them the dynamic loader's path
# /lib/ld-linux-riscv64-lp64d.so.1. Its release files are signed with the trixie keys that
# bookworm's debian-archive-keyring already holds (mmdebstrap checks them).
PYTHON_SUITE=trixie
rootfs_ember_python() { # rootfs_ember_python ROOTFS
    local r=$1 log=$1.mmdebstrap.log d
    say "ember-python: mmdebstrap $PYTHON_SUITE riscv64 python3 from $(debian_mirror) (about half a minute)"
    if ! mmdebstrap --quiet --variant=extract --arch=riscv64 --include=python3 \
            --extract-hook='ls "$1"/var/cache/apt/archives/ | sed -n "s/\.deb$//p" > "$1"/.ember-packages' \
            "$PYTHON_SUITE" "$r" "$(debian_mirror)" >"$log" 2>&1; then
        tail -30 "$log" >&2
        die "mmdebstrap failed; full log: $log"
    fi
    # (the extract variant unpacks with tar, so dpkg's path-exclude cannot drop these)
    # (gconv: iconv's character sets, which Python's own codecs do not use)
    rm -rf "$r"/usr/share/{doc,man,info,locale,lintian} "$r"/usr/lib/riscv64-linux-gnu/gconv \
        "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/log/*
    mv "$r/.ember-packages" "$r.packages"
    # /dev comes from the runtime; mmdebstrap leaves device nodes there.
    rm -rf "$r/dev"
    for d in bin sbin lib; do
        [[ -e $r/$d ]] || ln -s "usr/$d" "$r/$d"
    done
    [[ -e $r/lib/ld-linux-riscv64-lp64d.so.1 ]] || die "ember-python: no dynamic loader /lib/ld-linux-riscv64-lp64d.so.1"
    [[ -x $r/usr/bin/python3 ]] || die "ember-python: no /usr/bin/python3"
    base_files "$r"
}

# ---------------------------------------------------------------------------------------------------
# OCI image, archive, import
# ---------------------------------------------------------------------------------------------------

# One layer holding ROOTFS, owners and modes as they are, times fixed: the same inputs give the same
# layer digest.
pack_image() { # pack_image NAME ARCH ROOTFS DEST_DIR CMD...
    local name=$1 arch=$2 r=$3 dest=$4 tmp layer created
    shift 4
    tmp=$(mktemp -d)
    layer=$tmp/layer.tar
    created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
    find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    (cd "$r" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort |
        tar --create --file="$layer" --sort=name --numeric-owner --format=posix \
            --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --files-from=-)
    umoci init --layout "$dest/layout"
    umoci new --image "$dest/layout:latest"
    umoci raw add-layer --image "$dest/layout:latest" --history.created "$created" \
        --history.created_by "scripts/container-images.sh" "$layer"
    local cmd=() c
    for c in "$@"; do cmd+=(--config.cmd "$c"); done
    local env=(--config.env "$PATH_ENV")
    [[ $name == ember-python ]] && env+=(--config.env LANG=C.UTF-8)
    umoci config --no-history --image "$dest/layout:latest" --os linux --architecture "$arch" \
        --created "$created" --author "Ember scripts/container-images.sh" \
        "${env[@]}" --config.workingdir / "${cmd[@]}" \
        --config.label "org.opencontainers.image.title=$name"
    umoci gc --layout "$dest/layout"
    # The archive names the image in full, so that podman load and ctr import know it by itself.
    skopeo copy --quiet "oci:$dest/layout:latest" "oci-archive:$dest/$name.oci.tar:localhost/$name:latest"
    rm -rf "$tmp"
}

build_image() { # build_image NAME
    local name=$1 arch key dest inputs=()
    case $name in
        ember-busybox)
            extract_guest_busybox
            arch=riscv64
            inputs=("busybox=$(sha256sum <"$GUEST_BUSYBOX_DIR/busybox")" "links=$(sha256sum <"$GUEST_BUSYBOX_DIR/busybox.links")") ;;
        ember-python)
            arch=riscv64
            inputs=("suite=$PYTHON_SUITE" "mirror=$(debian_mirror)" "mmdebstrap=$(pkgver mmdebstrap)") ;;
        ember-native-busybox)
            arch=amd64
            inputs=("busybox-static=$(pkgver busybox-static)") ;;
    esac
    inputs+=("name=$name" "umoci=$(pkgver umoci)")
    key=$(key_of "${inputs[@]}")
    dest=$CACHE_ROOT/$name-$key
    if [[ $FORCE != 1 && -f $dest/$name.oci.tar ]]; then
        say "$name: cached ($dest)"
    else
        say "$name: building ($arch)"
        rm -rf "$dest.tmp"
        mkdir -p "$dest.tmp"
        local rootfs=$dest.tmp/rootfs
        mkdir "$rootfs"
        case $name in
            ember-busybox) rootfs_ember_busybox "$rootfs"; pack_image "$name" "$arch" "$rootfs" "$dest.tmp" /bin/sh ;;
            ember-python) rootfs_ember_python "$rootfs"; pack_image "$name" "$arch" "$rootfs" "$dest.tmp" /usr/bin/python3 ;;
            ember-native-busybox) rootfs_ember_native_busybox "$rootfs"; pack_image "$name" "$arch" "$rootfs" "$dest.tmp" /bin/sh ;;
        esac
        {
            printf '%s\n' "key=$key" "${inputs[@]}"
            echo "rootfs-bytes=$(du -sb "$rootfs" | cut -f1)"
            [[ -f $rootfs.packages ]] && { echo "packages:"; sed 's/^/  /' "$rootfs.packages"; }
        } >"$dest.tmp/manifest.txt"
        rm -rf "$rootfs" "$rootfs".*
        rm -rf "$dest"
        mv "$dest.tmp" "$dest"
    fi
    # Builds from older inputs are not used again.
    find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -name "$name-*" ! -name "$name-$key" -exec rm -rf {} +
    import_image "$name" "$dest/$name.oci.tar"
    say "$name: $(du -h "$dest/$name.oci.tar" | cut -f1) archive, $(sed -n 's/^rootfs-bytes=//p' "$dest/manifest.txt" |
        awk '{ printf "%.1f MiB", $1 / 1048576 }') unpacked ($dest)"
}

# The digests of the one image in an OCI archive: MANIFEST_DIGEST (what containerd lists) and
# CONFIG_DIGEST (podman's image ID).
archive_digests() { # archive_digests ARCHIVE
    MANIFEST_DIGEST=$(tar -xOf "$1" index.json | grep -o '"digest":"sha256:[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
    CONFIG_DIGEST=$(tar -xOf "$1" "blobs/sha256/${MANIFEST_DIGEST#sha256:}" |
        grep -o '"config":{[^}]*}' | grep -o 'sha256:[0-9a-f]*')
    [[ -n $MANIFEST_DIGEST && -n $CONFIG_DIGEST ]] || die "cannot read the image digests of $1"
}

# Imports the archive into podman's store and into containerd (when one answers), each only when it
# holds another image under that name.
import_image() { # import_image NAME ARCHIVE
    local name=$1 archive=$2 ref=localhost/$1:latest old_id
    archive_digests "$archive"
    old_id=$(podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
    if [[ sha256:$old_id != "$CONFIG_DIGEST" ]]; then
        # (skopeo notes that riscv64 is not the host's architecture: expected, not shown)
        skopeo copy --quiet "oci-archive:$archive" "containers-storage:$ref" 2>"$archive.import.log" ||
            { cat "$archive.import.log" >&2; die "skopeo could not import $archive into podman"; }
        rm -f "$archive.import.log"
        # The image this one replaces, once it has no name left, unless a container still uses it.
        if [[ -n $old_id && $(podman image inspect --format '{{len .RepoTags}}' "$old_id" 2>/dev/null) == 0 ]]; then
            podman rmi "$old_id" >/dev/null 2>&1 || true
        fi
        say "$name: imported into podman as $ref"
    fi
    if ctr version >/dev/null 2>&1; then
        if [[ $(ctr image ls "name==$ref" | awk 'NR == 2 { print $3 }') != "$MANIFEST_DIGEST" ]]; then
            # (--all-platforms: without it ctr keeps only the host's platform, and riscv64 is not)
            ctr image import --all-platforms "$archive" >/dev/null
            say "$name: imported into containerd as $ref"
        fi
    fi
}

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9   # one build at a time per cache
for name in "${IMAGES[@]}"; do
    build_image "$name"
done
[[ -z $GUEST_BUSYBOX_DIR ]] || rm -rf "$GUEST_BUSYBOX_DIR"
