package dev.ember.server.api;

import dev.ember.log.LogSink;
import java.io.OutputStream;
import java.io.PrintStream;

/**
 * The API's request handling for fuzz tests in other packages: a fresh {@link VmmController}
 * with its {@link ApiRouter}, as {@code ember --api-sock} builds them, called directly (no
 * socket, no Jetty) so that thousands of requests a second can be tried. Logs go nowhere.
 *
 * <p>Threads: the caller's; the controller starts threads only if a VM starts.
 */
public final class ApiHarness implements AutoCloseable {

    /** A response: status and body, null for none. */
    public record Reply(int status, String body) { }

    private final PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    private final ApiMetrics metrics = new ApiMetrics();
    private final VmmController controller;
    private final ApiRouter router;

    public ApiHarness() {
        ApiLogger logger = new ApiLogger("fuzz", quiet);
        controller = new VmmController("fuzz", logger, metrics, OutputStream.nullOutputStream(), null, LogSink.discard(),
                status -> { });
        router = new ApiRouter(controller, logger, metrics);
    }

    /** {@return the reply to one request} as the API server would send it; {@code body} null for none */
    public Reply route(String method, String path, byte[] body) {
        ApiRouter.Reply r = router.route(method, path, body);
        return new Reply(r.status(), r.body());
    }

    /**
     * Applies {@code json} as {@code ember --config-file} does, then InstanceStart.
     *
     * @return null if it was applied and the VM started, else the fault the launcher reports
     */
    public Reply configFile(byte[] json) {
        try {
            ConfigFile.applyAndStart(json, controller);
            return null;
        } catch (ApiError e) {
            return new Reply(e.status(), Json.faultBody(e.getMessage()));
        }
    }

    @Override
    public void close() {
        metrics.close();
    }
}
