#!/usr/bin/env bash
# Ember's coverage-guided fuzzing with Jazzer (run through the launcher: ./ember fuzz ...).
#   ./ember fuzz --list                          every target, as Class#method
#   ./ember fuzz TARGET... [--minutes N | --seconds S]
#       fuzzes each target (a class such as VirtioBlockFuzzTest: each of its @FuzzTest methods;
#       or one method, VirtioBlockFuzzTest#chains) for the given time (default 1 minute)
#   ./ember fuzz all [--minutes N | --seconds S]  every target in turn, each for that time
# One JVM per target (Jazzer fuzzes one @FuzzTest per JVM). For each it prints the executions and
# the coverage libFuzzer reports; a finding (an exception, a failed invariant, an OutOfMemoryError
# under the -Xmx bound) is written by Jazzer into the target's checked-in inputs directory,
# src/test/resources/<package>/<Class>Inputs/<method>/, so that `mvn test` replays it from then on,
# and the script exits 1. Inputs that found new coverage go to <module>/.cifuzz-corpus/ (not
# checked in), so a later campaign starts where the last one stopped. docs/fuzzing.md says more.
set -euo pipefail
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

# module directory and the package its fuzz targets live in
FUZZ_MODULES=("ember-vmm dev.ember.fuzz" "ember-server dev.ember.server.fuzz")
# A finding must not take the host down: a guest-driven allocation beyond this is an
# OutOfMemoryError, which Jazzer reports as a finding.
FUZZ_HEAP="${EMBER_FUZZ_HEAP:-1g}"
# Jazzer's bug detectors for web applications (SQL, LDAP, XPath, script and template injection,
# deserialization, ...) find nothing in Ember and cost every target seconds of start-up
# instrumentation; the path-traversal detector stays, for virtio-fs.
DISABLED_HOOKS=$(printf 'com.code_intelligence.jazzer.sanitizers.%s:' BigDecimal ClojureLangHooks Deserialization \
    ExpressionLanguageInjection LdapInjection NamingContextLookup OsCommandInjection ReflectiveCall RegexInjection \
    RegexRoadblocks ScriptEngineInjection ServerSideRequestForgery SqlInjection TemplateInjection UnsafeSanitizer \
    XPathInjection XmlParserSsrfGuidance)

usage() { sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 2; }

# Compiles the main and test classes of every module and writes each module's test class path to
# target/fuzz.classpath, when any source or pom changed since the last time.
prepare() {
    local stamp="$EMBER_ROOT/ember-vmm/target/fuzz.stamp"
    if [ -f "$stamp" ] && [ -z "$(find "$EMBER_ROOT"/pom.xml "$EMBER_ROOT"/ember-*/pom.xml "$EMBER_ROOT"/ember-*/src \
            "$EMBER_ROOT/scripts/FuzzRunner.java" -newer "$stamp" -not -path '*Inputs/*' -print -quit 2>/dev/null)" ]; then
        return 0
    fi
    ensure_packages maven
    say "compiling the fuzz targets (mvn test-compile)..."
    (cd "$EMBER_ROOT" && mvn -B -ntp -q -pl ember-vmm,ember-server test-compile dependency:build-classpath \
            -Dmdep.includeScope=test -Dmdep.outputFile=target/fuzz.classpath > "$EMBER_ROOT/target-fuzz-build.log" 2>&1) \
        || { tail -40 "$EMBER_ROOT/target-fuzz-build.log" >&2; die "build failed; the full log is $EMBER_ROOT/target-fuzz-build.log"; }
    mkdir -p "$EMBER_ROOT/ember-vmm/target/fuzz-runner"
    "$JAVA_HOME/bin/javac" -nowarn -d "$EMBER_ROOT/ember-vmm/target/fuzz-runner" \
        -cp "$(module_classpath ember-vmm)" "$EMBER_ROOT/scripts/FuzzRunner.java"
    : > "$EMBER_ROOT/ember-vmm/target/fuzz-targets.txt"
    local m
    for m in "${FUZZ_MODULES[@]}"; do
        set -- $m
        runner "$1" -- --list "$2" | sed "s/^/$1 /" >> "$EMBER_ROOT/ember-vmm/target/fuzz-targets.txt"
    done
    touch "$stamp"
}

module_classpath() {
    local dir="$EMBER_ROOT/$1"
    # built in one reactor, ember-server's class path names ember-vmm/target/classes, not a jar
    printf '%s:%s:%s' "$dir/target/test-classes" "$dir/target/classes" "$(cat "$dir/target/fuzz.classpath")"
}

# runner MODULE [JVM_OPTION...] -- ARGS...: the FuzzRunner in MODULE's directory (where Jazzer
# looks for src/test/resources), on MODULE's test class path. Jazzer instruments Ember's classes
# only: coverage of the JDK and libraries would only dilute the guidance.
runner() {
    local module="$1"; shift
    local jvm=()
    while [ "$1" != -- ]; do jvm+=("$1"); shift; done
    shift
    (cd "$EMBER_ROOT/$module" && "$JAVA" -XX:+EnableDynamicAgentLoading --enable-native-access=ALL-UNNAMED -Xss4m \
        -Xmx"$FUZZ_HEAP" -Djazzer.instrument='dev.ember.**' -Djazzer.disabled_hooks="${DISABLED_HOOKS%:}" "${jvm[@]}" ${EMBER_FUZZ_JAVA_OPTS:-} \
        -cp "$EMBER_ROOT/ember-vmm/target/fuzz-runner:$(module_classpath "$module")" FuzzRunner "$@")
}

# Every target as "module Class#method fully.qualified.Class".
targets() { cat "$EMBER_ROOT/ember-vmm/target/fuzz-targets.txt"; }

# fuzz_one MODULE CLASS#METHOD FQCN SECONDS: one campaign; {return} 0, or 1 on a finding
fuzz_one() {
    local module="$1" target="$2" fqcn="$3" seconds="$4"
    local class="${target%%#*}" method="${target#*#}"
    local inputs="$EMBER_ROOT/$module/src/test/resources/$(printf '%s' "${fqcn%.*}" | tr . /)/${class}Inputs/$method"
    mkdir -p "$inputs" "$EMBER_ROOT/$module/target/fuzz-logs"
    local log="$EMBER_ROOT/$module/target/fuzz-logs/$target.log" before after start=$SECONDS rc=0
    before=$(ls "$inputs" | wc -l)
    JAZZER_FUZZ=1 runner "$module" -Djazzer.max_duration="${seconds}s" -- "$fqcn#$method" > "$log" 2>&1 || rc=$?
    # libFuzzer writes an input that took over 10 s as slow-unit-*: not a finding (a VM restore
    # can take that long on a loaded machine), so it goes beside the log, not into the regression inputs
    if compgen -G "$inputs/slow-unit-*" > /dev/null; then
        mkdir -p "$EMBER_ROOT/$module/target/fuzz-logs/slow-units/$target"
        mv "$inputs"/slow-unit-* "$EMBER_ROOT/$module/target/fuzz-logs/slow-units/$target/"
    fi
    after=$(ls "$inputs" | wc -l)
    # libFuzzer's last status line: "#<execs> DONE cov: <edges> ft: <features> corp: ..."
    local done execs cov ft
    done=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$log" | tail -1 || true)
    execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$done")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$done")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$done")
    printf '%-52s %10s execs  cov %6s  ft %7s  %4ds  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        $((SECONDS - start)) "$([ $rc = 0 ] && echo ok || echo FINDING)"
    if [ $rc != 0 ]; then
        grep -aE '^(== Java Exception|FAILED|Caused by|[A-Za-z.]+(Exception|Error))' "$log" | head -8 | sed 's/^/    /' >&2
        [ "$after" -gt "$before" ] && say "new regression input(s) in ${inputs#$EMBER_ROOT/}: check them in"
        say "the whole log: ${log#$EMBER_ROOT/}"
        return 1
    fi
}

seconds=60
names=()
list=0
while [ $# -gt 0 ]; do
    case "$1" in
        --list) list=1 ;;
        --minutes) seconds=$(( ${2:?--minutes needs a number} * 60 )); shift ;;
        --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
        -h|--help) usage ;;
        -*) die "unknown option $1 (./ember fuzz --help)" ;;
        *) names+=("$1") ;;
    esac
    shift
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "the time must be a positive whole number: $seconds"

find_java25
prepare
if [ $list = 1 ]; then
    targets | awk '{print $2}'
    exit 0
fi
[ ${#names[@]} -gt 0 ] || usage

selected=()
for n in "${names[@]}"; do
    if [ "$n" = all ]; then
        mapfile -t -O "${#selected[@]}" selected < <(targets)
        continue
    fi
    # a class name selects its methods; Class#method one of them
    mapfile -t found < <(targets | awk -v n="$n" '$2 == n || substr($2, 1, index($2, "#") - 1) == n')
    [ ${#found[@]} -gt 0 ] || die "no fuzz target $n (./ember fuzz --list)"
    selected+=("${found[@]}")
done

failed=0
start=$SECONDS
say "fuzzing ${#selected[@]} target(s), ${seconds}s each"
for t in "${selected[@]}"; do
    set -- $t
    fuzz_one "$1" "$2" "$3" "$seconds" || failed=$((failed + 1))
done
say "$((${#selected[@]} - failed)) of ${#selected[@]} target(s) without findings in $((SECONDS - start))s"
[ $failed = 0 ]
