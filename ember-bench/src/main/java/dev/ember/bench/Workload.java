package dev.ember.bench;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One CPU-bound job run at the guest's shell, timed from the host and, through busybox
 * {@code time}, from inside the guest.
 *
 * <p>The job runs as {@code time sh -c 'SCRIPT'} followed by {@code echo @@DONE-$((n))@@}: the
 * shell echoes the typed line with the unexpanded {@code $((n))}, so only the real output
 * contains {@code @@DONE-n@@}. The script prints its answer as {@code @@R=answer}; the answers
 * are compared across VMMs, so a wrong result is caught, not timed.
 *
 * @param key         short metric name
 * @param description what it computes, for the report
 * @param script      the {@code sh -c} script; prints {@code @@R=...}; no single quotes
 */
record Workload(String key, String description, String script) {

    /** Untimed preparation run once per boot before the workloads: the gzip input. */
    static final String SETUP = "seq 1 400000 > /tmp/seq.txt";

    static final List<Workload> ALL = List.of(
            new Workload("sha256", "sha256sum of 16 MiB of zeros (dd if=/dev/zero bs=1M count=16 | sha256sum)",
                    "echo \"@@R=$(dd if=/dev/zero bs=1M count=16 2>/dev/null | sha256sum)\""),
            new Workload("gzip", "gzip -c of /tmp/seq.txt (seq 1 400000: 2,688,888 bytes of text) | wc -c",
                    "echo \"@@R=$(gzip -c /tmp/seq.txt | wc -c)\""),
            new Workload("shell-loop", "busybox sh: i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
                    "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo \"@@R=$i\""));

    /** The echo of the typed line shows {@code @@R=$(...}, so an answer never starts with {@code $}. */
    private static final Pattern ANSWER = Pattern.compile("@@R=([^$\\r\\n][^\\r\\n]*)");
    private static final Pattern REAL = Pattern.compile("real\\s+(\\d+)m\\s*([0-9.]+)s");

    /** {@return the line typed at the prompt, ending with the marker {@code @@DONE-n@@}} */
    String commandLine(int n) {
        return "time sh -c '" + script + "'; " + markerCommand(n);
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

    /** {@return the {@code real} seconds busybox {@code time} printed in {@code output}, or NaN} */
    static double guestSeconds(String output) {
        double last = Double.NaN;
        Matcher m = REAL.matcher(output);
        while (m.find()) {
            last = Integer.parseInt(m.group(1)) * 60 + Double.parseDouble(m.group(2));
        }
        return last;
    }
}
