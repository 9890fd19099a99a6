package dev.ember.server.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The HTTP/1.1 server on a Unix domain socket that carries Firecracker's API: Jetty 12's core
 * handler API behind a {@link UnixDomainServerConnector}, requests handed to {@link ApiRouter}.
 *
 * <p>Bodies are limited to {@link #MAX_PAYLOAD} bytes, Firecracker's {@code HTTP_MAX_PAYLOAD_SIZE};
 * a larger one is answered as Firecracker's micro_http answers it (400, {@code {"error":
 * "Request payload with size N is larger than the limit of 51200 allowed by server.\nAll previous
 * unanswered requests will be dropped."}}) and the connection is closed.
 *
 * <p>Clients that stall: a body is read without holding a thread (Jetty calls back as its bytes
 * arrive), so connections that send a request line and half a body, then wait, cost a socket
 * and a buffer each, not a worker: the owner's requests are answered while a thousand such
 * clients are connected. A body must arrive within {@link #BODY_TIMEOUT_MILLIS} of its headers,
 * else the request is answered 408 and the connection closed; a connection idle for
 * {@link #IDLE_TIMEOUT_MILLIS} is closed; at most {@link #MAX_CONNECTIONS} are open at once, and
 * the next wait in the socket's backlog until one closes.
 *
 * <p>Threads: a small Jetty pool named {@code ember-api-N}; the router serialises requests.
 */
final class ApiServer implements AutoCloseable {

    /** Firecracker's default API payload limit ({@code src/vmm/src/lib.rs} HTTP_MAX_PAYLOAD_SIZE). */
    static final int MAX_PAYLOAD = 51200;
    /** How long a request's body may take to arrive after its headers. */
    static final long BODY_TIMEOUT_MILLIS = 15_000;
    /** How long a connection may stay idle (no request, no bytes) before it is closed. */
    static final long IDLE_TIMEOUT_MILLIS = 30_000;
    /** Connections open at once; more wait in the listen backlog. */
    static final int MAX_CONNECTIONS = 4096;

    private final Server server;
    private final Path socket;

    private ApiServer(Server server, Path socket) {
        this.server = server;
        this.socket = socket;
    }

    /**
     * Binds {@code socket} and starts serving.
     *
     * @throws IOException with a one-line reason when the path exists, its directory is missing,
     *                     or binding fails
     */
    static ApiServer start(Path socket, ApiRouter router) throws IOException {
        if (Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("cannot bind the API socket " + socket + ": the path already exists");
        }
        Path dir = socket.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new IOException("cannot bind the API socket " + socket + ": directory " + dir + " does not exist");
        }
        QueuedThreadPool pool = new QueuedThreadPool(8, 2);
        pool.setName("ember-api");
        pool.setDaemon(true);
        Server server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        http.setSendXPoweredBy(false);
        UnixDomainServerConnector connector = new UnixDomainServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setUnixDomainPath(socket);
        connector.setIdleTimeout(IDLE_TIMEOUT_MILLIS);
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(MAX_CONNECTIONS, connector));
        server.setHandler(new ApiHandler(router));
        try {
            server.start();
        } catch (Exception e) {
            try {
                server.stop();
            } catch (Exception ignored) {
                // Already failing; the bind error is the one to report.
            }
            throw new IOException("cannot bind the API socket " + socket + ": " + e.getMessage(), e);
        }
        return new ApiServer(server, socket);
    }

    /** Stops serving and removes the socket file. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            // Stopping at exit; nothing more to do.
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // The socket file is left behind; a later start reports it.
        }
    }

    /** Reads the body within the limit and writes the router's reply. */
    private static final class ApiHandler extends Handler.Abstract {
        private final ApiRouter router;

        ApiHandler(ApiRouter router) {
            this.router = router;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            long length = request.getLength();
            if (length > MAX_PAYLOAD) {
                tooLarge(response, callback, length);
                return true;
            }
            // The body arrives by callbacks, not on a blocked thread; a timer bounds how long.
            AtomicBoolean answered = new AtomicBoolean();
            Scheduler.Task timeout = request.getComponents().getScheduler().schedule(() -> {
                if (answered.compareAndSet(false, true)) {
                    reply(response, callback, 408, "{\"fault_message\":\"The request body did not arrive within "
                            + BODY_TIMEOUT_MILLIS / 1000 + " s.\"}", true);
                }
            }, BODY_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            Content.Source.asByteArrayAsync(request, MAX_PAYLOAD).whenComplete((body, failure) -> {
                if (!answered.compareAndSet(false, true)) {
                    return;
                }
                timeout.cancel();
                if (failure != null) {
                    if (failure instanceof IllegalArgumentException || failure.getCause() instanceof IllegalArgumentException) {
                        tooLarge(response, callback, MAX_PAYLOAD + 1L);      // a chunked body beyond the limit
                    } else {
                        callback.failed(failure);                             // the client went away
                    }
                    return;
                }
                ApiRouter.Reply reply = router.route(request.getMethod(), request.getHttpURI().getPath(),
                        body.length == 0 ? null : body);
                reply(response, callback, reply.status(), reply.body(), false);
            });
            return true;
        }

        private static void reply(Response response, Callback callback, int status, String body, boolean close) {
            response.setStatus(status);
            if (close) {
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
            }
            if (body == null) {
                response.write(true, BufferUtil.EMPTY_BUFFER, callback);
            } else {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
                Content.Sink.write(response, true, body, callback);
            }
        }

        private static void tooLarge(Response response, Callback callback, long size) {
            String body = Json.MAPPER.createObjectNode().put("error", "Request payload with size " + size
                    + " is larger than the limit of " + MAX_PAYLOAD + " allowed by server.\n"
                    + "All previous unanswered requests will be dropped.").toString();
            reply(response, callback, 400, body, true);
        }
    }
}
