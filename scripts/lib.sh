# Shared helpers for Ember's scripts: find JDK 25, install Debian packages, build the jars.
# Sourced, not run.

EMBER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '[ember] %s\n' "$*" >&2; }
die() { printf 'ember: %s\n' "$*" >&2; exit 1; }

# Sets JAVA_HOME and JAVA to a JDK 25: JAVA_HOME first, then the usual install places.
find_java25() {
    local candidates=()
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 /usr/lib/jvm/java-25-openjdk-amd64
                 /usr/lib/jvm/java-25-openjdk-arm64 /usr/lib/jvm/jdk-25*)
    local c v
    for c in "${candidates[@]}"; do
        [ -x "$c/bin/java" ] || continue
        # The JDK's release file names its version without starting a JVM.
        v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$c/release" 2>/dev/null)
        [ -n "$v" ] || v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
        if [ "$v" = "25" ]; then
            export JAVA_HOME="$c"
            JAVA="$c/bin/java"
            return 0
        fi
    done
    die "no JDK 25 found. Install Temurin 25 (or OpenJDK 25) or set JAVA_HOME to one; tried: ${candidates[*]}"
}

# Installs the named Debian packages that are missing (needs root, as on CI).
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        die "missing Debian packages: ${missing[*]}; install them (sudo apt-get install ${missing[*]}) and rerun"
    fi
    say "installing Debian packages: ${missing[*]}"
    if [ -z "${EMBER_APT_UPDATED:-}" ]; then
        apt-get update -qq >/dev/null || die "apt-get update failed"
        export EMBER_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# Builds every module's jar (one mvn package) when a jar is missing or any main source or pom
# is newer than it.
EMBER_JAR="$EMBER_ROOT/ember-server/target/ember-server-0.1.0-SNAPSHOT.jar"
BENCH_JAR="$EMBER_ROOT/ember-bench/target/ember-bench-0.1.0-SNAPSHOT.jar"
jars_fresh() {
    local jar
    for jar in "$EMBER_JAR" "$BENCH_JAR"; do
        [ -f "$jar" ] || return 1
        [ -z "$(find "$EMBER_ROOT"/pom.xml "$EMBER_ROOT"/ember-*/pom.xml "$EMBER_ROOT"/ember-*/src/main \
            -newer "$jar" -print -quit 2>/dev/null)" ] || return 1
    done
}
build_jars() {
    jars_fresh && return 0   # first: every ./ember and ./ember-oci call passes here
    ensure_packages maven
    say "building Ember (mvn package, about a minute the first time)..."
    (cd "$EMBER_ROOT" && mvn -B -q -DskipTests package > "$EMBER_ROOT/target-build.log" 2>&1) \
        || { tail -40 "$EMBER_ROOT/target-build.log" >&2; die "build failed; the full log is $EMBER_ROOT/target-build.log"; }
    # The jar plugin leaves an up-to-date jar untouched, so mark both jars as built from these sources.
    touch "$EMBER_JAR" "$BENCH_JAR"
}

ember_classpath() {
    printf '%s' "$EMBER_JAR"
    local j
    for j in "$EMBER_ROOT"/ember-server/target/lib/*.jar; do printf ':%s' "$j"; done
}

# JVM messages go to stderr, never into the guest console on stdout.
JAVA_OPTS_DEFAULT=(--enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xss4m -Xlog:all=warning:stderr)

# JDK 25's AOT cache (JEP 483, 514): the classes a fresh ember process loads and links before it
# answers on its API socket come ready-made from a cache written by one training run
# (dev.ember.server.StartupTraining: parses a command line, serves a few API requests on a
# temporary socket, no guest). Trained once per build of the jars, retrained when they change;
# its output goes to target-aot.log, never to a console. EMBER_AOT=0 runs without it.
AOT_CACHE="$EMBER_ROOT/ember-server/target/ember.aot"
AOT_OPTS=()
prepare_aot_cache() {
    AOT_OPTS=()
    [ "${EMBER_AOT:-1}" = 0 ] && return 0
    if [ ! -f "$AOT_CACHE" ] || [ "$EMBER_JAR" -nt "$AOT_CACHE" ]; then
        say "training the JVM start-up cache (once per build, a few seconds)..."
        local tmp="$AOT_CACHE.$$.tmp"
        if "$JAVA" "${JAVA_OPTS_DEFAULT[@]}" -XX:AOTCacheOutput="$tmp" -cp "$(ember_classpath)" \
                dev.ember.server.StartupTraining > "$EMBER_ROOT/target-aot.log" 2>&1 && [ -f "$tmp" ]; then
            mv -f "$tmp" "$AOT_CACHE"
        else
            rm -f "$tmp"
            say "the start-up cache could not be trained (see target-aot.log); starting without it"
            return 0
        fi
    fi
    # A cache that cannot be mapped at its address (address-space randomisation) is skipped by the
    # JVM, which then starts as without it; its one-line report is not for the user.
    AOT_OPTS=(-XX:AOTCache="$AOT_CACHE" -Xlog:aot=off)
}

# ember jailer (docs/jailer.md). A JVM cannot exec, so the work is split: the Java side
# (dev.ember.server.jailer.JailerCommand) checks the flags, makes the chroot and the cgroup, moves
# this shell (EMBER_JAILER_LAUNCHER) into the cgroup, sets its resource limits and prints a plan:
# "exec" or "daemonize", the seccomp program's file, then the command, each ended by a NUL byte.
# This shell then execs the command with the seccomp program on descriptor 9 and no other
# descriptor beyond stdio, so the jail inherits the cgroup and the limits. Never returns.
run_jailer() {
    local plan status fd
    plan=$(mktemp "${TMPDIR:-/tmp}/ember-jailer.XXXXXX")
    EMBER_JAILER_LAUNCHER=$$ "$JAVA" "${JAVA_OPTS_DEFAULT[@]}" "${AOT_OPTS[@]}" ${EMBER_JAVA_OPTS:-} \
        -cp "$(ember_classpath)" dev.ember.server.EmberCommand "$@" > "$plan" || { status=$?; rm -f "$plan"; exit $status; }
    local -a words=()
    mapfile -d '' words < "$plan"
    if [ "${words[0]:-}" != exec ] && [ "${words[0]:-}" != daemonize ]; then
        cat "$plan"; rm -f "$plan"; exit 0   # --help or --version
    fi
    rm -f "$plan"
    local mode=${words[0]} seccomp=${words[1]}
    words=("${words[@]:2}")
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        # 255 is bash's own script descriptor, closed on exec
        if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-"; fi
    done
    if [ "$mode" = daemonize ]; then
        exec setsid "${words[@]}" 9<"$seccomp" </dev/null >/dev/null 2>&1
    fi
    exec "${words[@]}" 9<"$seccomp"
}
