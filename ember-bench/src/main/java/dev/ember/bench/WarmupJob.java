package dev.ember.bench;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The warm-up curve's job ({@code --warmup}): a CPU-bound loop typed at the prompt the moment
 * it appears, which prints a line per unit of work, so that the host can turn the lines'
 * arrival times into guest speed (units per second) in each second after the prompt.
 *
 * <p>One unit is one link of a hash chain: {@code h=$( { echo $h; head -c 131072 /dev/zero; }
 * | sha256sum )}, starting from {@code h=0}. Each unit forks a subshell and runs two programs
 * (the kernel's fork, exec and pipe paths, busybox's startup) and hashes 128 KiB (a tight
 * user-mode loop), so a translator's curve shows both how fast it gets to new code and how fast
 * it runs hot code. After each unit the guest prints {@code @@W<unit> <uptime> <hash>}; the
 * loop stops once {@link #GUEST_MARGIN_SECONDS} more than the window have passed on the
 * guest's clock, so the last line arrives after the window closes on the host's.
 *
 * <p>The host computes the same chain ({@link #expectedHash}) and checks every line against
 * it, so each VMM's figure is for the same, correct work. Lines are matched on
 * {@code @@W} followed by a digit: the shell's echo of the typed line shows {@code @@W$i}.
 *
 * <p>Not thread-safe; used by the harness's main thread.
 */
final class WarmupJob {

    static final String KEY = "warmup";
    static final int CHUNK_BYTES = 128 * 1024;
    /** How long past the window the guest keeps going, by its own clock. */
    static final int GUEST_MARGIN_SECONDS = 2;
    private static final Pattern PROGRESS = Pattern.compile("@@W([0-9]+) ([0-9]+\\.[0-9]+) ([0-9a-f]{64})");

    /** One progress line: the unit just finished, when its line reached the host, and its hash. */
    record Progress(int unit, long nanos, String hash) {}

    private final List<String> chain = new ArrayList<>();

    /** {@return the work, for the report} */
    static String description() {
        return "units of h=$( { echo $h; head -c " + CHUNK_BYTES + " /dev/zero; } | sha256sum ), a hash chain from h=0 "
                + "(a fork, two execs, 128 KiB hashed); a line per unit";
    }

    /**
     * {@return the shell commands of a window of {@code seconds}} They run inside
     * {@link Workload#commandLine}, whose first command reads the guest's uptime into {@code s}.
     */
    static String script(int seconds) {
        return "i=0; h=0; while :; do h=$( { echo $h; head -c " + CHUNK_BYTES + " /dev/zero; } | sha256sum ); h=${h%% *}; "
                + "i=$((i+1)); read u x </proc/uptime; echo \"@@W$i $u $h\"; "
                + "[ ${u%.*} -ge $((${s%.*}+" + (seconds + GUEST_MARGIN_SECONDS) + ")) ] && break; done; echo \"@@R=$i $h\"";
    }

    /** {@return the progress lines on {@code console} between two offsets, in order} */
    static List<Progress> progress(GuestConsole console, int from, int to) {
        List<Progress> lines = new ArrayList<>();
        for (GuestConsole.Match m : console.findAll(PROGRESS, from, to)) {
            var line = PROGRESS.matcher(console.text(m.start(), m.end()));
            if (!line.matches()) {
                throw new IllegalStateException("a progress line stopped matching its pattern");
            }
            lines.add(new Progress(Integer.parseInt(line.group(1)), m.nanos(), line.group(3)));
        }
        return lines;
    }

    /** {@return null when {@code lines} are units 1, 2, ... with the right hashes, else what is wrong} */
    String check(List<Progress> lines) {
        for (int i = 0; i < lines.size(); i++) {
            Progress p = lines.get(i);
            if (p.unit() != i + 1) {
                return "progress line " + (i + 1) + " is for unit " + p.unit() + " (a line lost or garbled?)";
            }
            if (!p.hash().equals(expectedHash(p.unit()))) {
                return "unit " + p.unit() + " gave hash " + p.hash() + ", expected " + expectedHash(p.unit());
            }
        }
        return null;
    }

    /** {@return the hash the guest prints after {@code unit} units, 1 or more} */
    String expectedHash(int unit) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] zeros = new byte[CHUNK_BYTES];
            while (chain.size() < unit) {
                String previous = chain.isEmpty() ? "0" : chain.getLast();
                sha.update((previous + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                sha.update(zeros);
                chain.add(HexFormat.of().formatHex(sha.digest()));
            }
            return chain.get(unit - 1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /**
     * {@return the units finished in each second of the window, {@code [k, k+1)} seconds after
     * {@code startNanos}} The count of finished units is interpolated linearly between the
     * arrivals of successive lines (from zero at {@code startNanos}), so a unit that takes
     * several seconds is spread over them. A second that ends after the last line is NaN.
     */
    static double[] unitsPerSecond(List<Progress> lines, long startNanos, int seconds) {
        double[] rate = new double[seconds];
        for (int k = 0; k < seconds; k++) {
            rate[k] = finishedBy(lines, startNanos, k + 1) - finishedBy(lines, startNanos, k);
        }
        return rate;
    }

    /**
     * {@return the units finished {@code t} seconds after the start, interpolated; NaN after the
     * last line} Lines that arrived together (in one chunk) all count from their arrival on.
     */
    static double finishedBy(List<Progress> lines, long startNanos, double t) {
        double before = 0, beforeUnits = 0;
        for (Progress p : lines) {
            double at = (p.nanos() - startNanos) / 1e9;
            if (at > t) {
                return beforeUnits + (p.unit() - beforeUnits) * (t - before) / (at - before);
            }
            before = at;
            beforeUnits = p.unit();
        }
        return t == before ? beforeUnits : Double.NaN;
    }
}
