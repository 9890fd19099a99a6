package dev.ember.server.api;

import dev.ember.log.Log;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Runs {@code ember --api-sock PATH [--config-file FILE] [--no-api] [--id ID]} as Firecracker's
 * binary runs: the API server on the socket; with a config file, configured from it and booted
 * at once (then the API serves the running VM); with {@code --no-api}, no socket at all. The
 * guest's serial console is this process's stdout and stdin. When the guest powers off, the
 * socket is closed and the status returned for the process to exit with.
 *
 * <p>Threads: the caller (main) waits here; the API pool serves requests; {@code ember-vmm}
 * runs the VM.
 */
public final class ApiLauncher {

    /** Firecracker's default instance id. */
    public static final String DEFAULT_ID = "anonymous-instance";

    /** USER_HZ: what Linux reports times in /proc in, 100 on every architecture Ember runs on. */
    private static final long CLOCK_TICKS_PER_SECOND = 100;

    private ApiLauncher() {
    }

    /**
     * For the JVM start-up cache's training run ({@code dev.ember.server.StartupTraining}): serves
     * the API on a socket in {@code dir} and sends it pre-boot requests, good and bad. Prints nothing.
     */
    public static void exerciseForTraining(Path dir) throws IOException {
        ApiTraining.exercise(dir);
    }

    /**
     * Records how long the process took to serve its API, as Firecracker's
     * {@code api_server.process_startup_time_us} and {@code process_startup_time_cpu_us}: wall
     * time since the kernel started the process, JVM start-up included, and CPU time so far.
     */
    private static void recordStartupTime(ApiMetrics metrics, Log log) {
        long us = microsSinceProcessStart();
        if (us >= 0) {
            metrics.store("api_server", "process_startup_time_us", us);
            log.info("Process start to API socket ready: " + us / 1000 + " ms");
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            metrics.store("api_server", "process_startup_time_cpu_us", os.getProcessCpuTime() / 1000);
        }
    }

    /**
     * {@return microseconds since this process started, to the kernel's 10 ms tick, or -1 when
     * /proc cannot tell}: {@code /proc/uptime} less the start time in {@code /proc/self/stat}
     * (field 22, clock ticks since boot), both counted from boot. The JDK's
     * {@code ProcessHandle.Info.startInstant} adds the boot time, which /proc gives to the
     * second only.
     */
    static long microsSinceProcessStart() {
        try {
            double uptimeSeconds = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command name, which is in parentheses and may hold spaces: field 3 first.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long startTicks = Long.parseLong(fields[22 - 3]);
            return Math.round(uptimeSeconds * 1e6) - startTicks * (1_000_000 / CLOCK_TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Serves and/or boots, and waits for the guest to power off.
     *
     * @param apiSock    the socket path, or null with {@code noApi}
     * @param configFile Firecracker's JSON config, or null
     * @param noApi      run without the API (needs {@code configFile})
     * @param id         the instance id
     * @param bootTimer  Firecracker's {@code --boot-timer}: log the time to the guest's first userspace write
     * @return the guest's exit status; 1 when the socket, the config file or the boot fails
     */
    public static int run(Path apiSock, Path configFile, boolean noApi, String id, boolean bootTimer) throws InterruptedException {
        ApiLogger logger = new ApiLogger(id, System.err);
        ApiMetrics metrics = new ApiMetrics();
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        VmmController controller = new VmmController(id, logger, metrics, new FileOutputStream(FileDescriptor.out),
                System.in, logger.vmSink(System.err), exit::complete);
        Log log = Log.of(logger, ApiLauncher.class);
        controller.setBootTimer(bootTimer);
        ApiServer server = null;
        try {
            if (!noApi) {
                try {
                    server = ApiServer.start(apiSock, new ApiRouter(controller, logger, metrics));
                } catch (IOException e) {
                    System.err.println("ember: " + e.getMessage());
                    return 1;
                }
                recordStartupTime(metrics, log);
                log.info("API server started.");
                ApiServer started = server;
                // Killed by a signal: still remove the socket, so the next start can bind it.
                Runtime.getRuntime().addShutdownHook(new Thread(started::close, "ember-api-close"));
            }
            if (configFile != null) {
                try {
                    ConfigFile.applyAndStart(Files.readAllBytes(configFile), controller);
                } catch (IOException e) {
                    System.err.println("ember: cannot read the config file " + configFile + ": " + ApiLogger.osError(e));
                    return 1;
                } catch (ApiError e) {
                    System.err.println("ember: config file " + configFile + ": " + e.getMessage());
                    return 1;
                }
            }
            int status;
            try {
                status = exit.get();
            } catch (java.util.concurrent.ExecutionException e) {
                status = 1;
            }
            if (metrics.configured()) {
                try {
                    metrics.flush();
                } catch (ApiError e) {
                    // Exiting anyway; the metrics file is not writable.
                }
            }
            return status;
        } finally {
            if (server != null) {
                server.close();
            }
            metrics.close();
        }
    }
}
