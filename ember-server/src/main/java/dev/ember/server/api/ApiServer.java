package dev.ember.server.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP/1.1 server on a Unix domain socket that carries Firecracker's API: Jetty 12's core
 * handler API behind a {@link UnixDomainServerConnector}, requests handed to {@link ApiRouter}.
 *
 * <p>Bodies are limited to {@link #MAX_PAYLOAD} bytes, Firecracker's {@code HTTP_MAX_PAYLOAD_SIZE};
 * a larger one is answered as Firecracker's micro_http answers it (400, {@code {"error":
 * "Request payload with size N is larger than the limit of 51200 allowed by server.\nAll previous
 * unanswered requests will be dropped."}}) and the connection is closed.
 *
 * <p>Threads: a small Jetty pool named {@code ember-api-N}; the router serialises requests.
 */
final class ApiServer implements AutoCloseable {

    /** Firecracker's default API payload limit ({@code src/vmm/src/lib.rs} HTTP_MAX_PAYLOAD_SIZE). */
    static final int MAX_PAYLOAD = 51200;

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
        server.addConnector(connector);
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
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            long length = request.getLength();
            if (length > MAX_PAYLOAD) {
                tooLarge(response, callback, length);
                return true;
            }
            byte[] body;
            try (InputStream in = Content.Source.asInputStream(request)) {
                body = in.readNBytes(MAX_PAYLOAD + 1);
            }
            if (body.length > MAX_PAYLOAD) {
                tooLarge(response, callback, body.length);
                return true;
            }
            ApiRouter.Reply reply = router.route(request.getMethod(), request.getHttpURI().getPath(),
                    body.length == 0 ? null : body);
            response.setStatus(reply.status());
            if (reply.body() == null) {
                response.write(true, BufferUtil.EMPTY_BUFFER, callback);
            } else {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
                Content.Sink.write(response, true, reply.body(), callback);
            }
            return true;
        }

        private static void tooLarge(Response response, Callback callback, long size) {
            response.setStatus(400);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            String body = Json.MAPPER.createObjectNode().put("error", "Request payload with size " + size
                    + " is larger than the limit of " + MAX_PAYLOAD + " allowed by server.\n"
                    + "All previous unanswered requests will be dropped.").toString();
            Content.Sink.write(response, true, body, callback);
        }
    }
}
