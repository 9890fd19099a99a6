package dev.ember.vmm;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * Test support: a second microVM in the same JVM as a hostile one, doing latency-sensitive work
 * that can be checked. Each job sends 64 KiB of fresh random bytes to {@code sha256sum} in the
 * default guest through the guest agent (vsock), and compares the digest with the host's; the
 * round trip of every job is recorded. Tests start it, let the hostile VM do its worst, then
 * {@linkplain #stop stop} it and assert that every job came back right.
 *
 * <p>Threads: {@link #start} and {@link #stop} on the test's thread; the jobs on one platform
 * thread of their own.
 */
final class Bystander implements AutoCloseable {

    private static final Duration T = Duration.ofSeconds(120);
    private static final int JOB_BYTES = 64 * 1024;

    private final MicroVm vm;
    private final List<Long> latenciesNanos = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    private Thread thread;
    private volatile boolean stopping;

    /** Boots the bystander and waits for its agent. */
    Bystander() throws Exception {
        vm = AgentGuest.boot(AgentGuest.builder("bystander", 128), T);
    }

    /** Starts running jobs back to back; the latencies recorded so far are forgotten. */
    void start() {
        synchronized (this) {
            latenciesNanos.clear();
            failures.clear();
        }
        stopping = false;
        thread = Thread.ofPlatform().name("bystander-jobs").start(this::runJobs);
    }

    private void runJobs() {
        Random random = new Random(12);
        byte[] input = new byte[JOB_BYTES];
        while (!stopping) {
            random.nextBytes(input);
            long start = System.nanoTime();
            String outcome;
            try {
                ExecResult r = vm.exec(List.of("sha256sum"), input, T);
                String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(input)) + "  -\n";
                outcome = r.exitCode() == 0 && r.stdoutText().equals(expected) ? null
                        : "exit " + r.exitCode() + ", stdout '" + r.stdoutText() + "', expected '" + expected + "'";
            } catch (Exception e) {
                outcome = e.toString();
            }
            long nanos = System.nanoTime() - start;
            synchronized (this) {
                if (outcome == null) {
                    latenciesNanos.add(nanos);
                } else {
                    failures.add(outcome);
                }
            }
        }
    }

    /** Waits for the job under way to end and stops; {@return what the jobs since {@link #start} did} */
    Jobs stop() throws InterruptedException {
        stopping = true;
        thread.join(T.toMillis());
        synchronized (this) {
            return new Jobs(List.copyOf(latenciesNanos), List.copyOf(failures));
        }
    }

    /**
     * What the jobs did.
     *
     * @param latenciesNanos the round trip of each correct job
     * @param failures       what went wrong in each other job
     */
    record Jobs(List<Long> latenciesNanos, List<String> failures) {

        /** {@return the {@code p}th percentile of the round trips in milliseconds, 0 without jobs} */
        double percentileMillis(double p) {
            if (latenciesNanos.isEmpty()) {
                return 0;
            }
            List<Long> sorted = latenciesNanos.stream().sorted().toList();
            int i = (int) Math.min(sorted.size() - 1, Math.ceil(p / 100 * sorted.size()) - 1);
            return sorted.get(Math.max(0, i)) / 1e6;
        }

        /** {@return a line with the count and the 50th, 99th and largest round trip} */
        String describe() {
            return String.format("%d jobs correct, %d failed; round trip p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                    latenciesNanos.size(), failures.size(), percentileMillis(50), percentileMillis(99),
                    percentileMillis(100));
        }
    }

    @Override
    public void close() {
        stopping = true;
        vm.close();
    }
}
