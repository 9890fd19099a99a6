package dev.ember.bench;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One CPU-bound job typed at the guest's shell, timed from the host and from inside the guest.
 *
 * <p>The typed line is {@code read s x </proc/uptime; SCRIPT; read e x </proc/uptime;
 * echo "@@T=$s $e"; echo @@DONE-$((n))@@}. The shell echoes the typed line unexpanded
 * ({@code $((n))}, {@code $s}), so only the real output contains {@code @@DONE-n@@} or a
 * number after {@code @@T=}. The script prints its answer as {@code @@R=answer}; answers are
 * compared across VMMs, so a wrong result is caught, not timed.
 *
 * <p>The guest-observed time comes from {@code /proc/uptime} (10 ms resolution), read by the
 * shell itself: no fork, and no user-mode {@code rdtime} (busybox {@code time} and
 * {@code date} read the clock through the vDSO, which executes {@code rdtime} in U-mode).
 *
 * @param key         short metric name
 * @param description what it computes, for the report
 * @param script      shell commands run by the interactive shell; print {@code @@R=...}
 */
record Workload(String key, String description, String script) {

    static final List<Workload> ALL = List.of(
            new Workload("seq", "seq 1 400000 > /tmp/seq.txt (2,688,895 bytes, the gzip input; busybox seq "
                    + "counts and prints in double: floating-point heavy)",
                    "seq 1 400000 > /tmp/seq.txt; echo \"@@R=$(wc -c < /tmp/seq.txt)\""),
            new Workload("sha256", "head -c 16777216 /dev/zero | sha256sum (16 MiB of zeros)",
                    "echo \"@@R=$(head -c 16777216 /dev/zero | sha256sum)\""),
            new Workload("gzip", "gzip -c /tmp/seq.txt | wc -c (default level 6)",
                    "echo \"@@R=$(gzip -c /tmp/seq.txt | wc -c)\""),
            new Workload("shell-loop", "the shell itself: i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
                    "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo \"@@R=$i\""));

    /** The echo of the typed line shows {@code @@R=$(...}, so an answer never starts with {@code $}. */
    private static final Pattern ANSWER = Pattern.compile("@@R=([^$\\r\\n][^\\r\\n]*)");
    private static final Pattern UPTIMES = Pattern.compile("@@T=([0-9]+\\.[0-9]+) ([0-9]+\\.[0-9]+)");

    /** {@return the line typed at the prompt, ending with the marker {@code @@DONE-n@@}} */
    String commandLine(int n) {
        return "read s x </proc/uptime; " + script + "; read e x </proc/uptime; echo \"@@T=$s $e\"; "
                + markerCommand(n);
    }

    static String markerCommand(int n) {
        return "echo @@DONE-$((" + n + "))@@";
    }

    static String marker(int n) {
        return "@@DONE-" + n + "@@";
    }

    /** {@return the answer the script printed in {@code output}, or null} */
    static String answer(String output) {
        String last = null;
        Matcher m = ANSWER.matcher(output);
        while (m.find()) {
            last = m.group(1).strip();
        }
        return last;
    }

    /** {@return the seconds between the two {@code /proc/uptime} readings in {@code output}, or NaN} */
    static double guestSeconds(String output) {
        double last = Double.NaN;
        Matcher m = UPTIMES.matcher(output);
        while (m.find()) {
            last = Double.parseDouble(m.group(2)) - Double.parseDouble(m.group(1));
        }
        return last;
    }
}
