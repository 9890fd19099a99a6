package dev.ember.mmds;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The guest-facing HTTP of the metadata service: parses one HTTP/1.x request as Firecracker's
 * micro_http {@code Request::try_from} does and answers it as Firecracker's
 * {@code convert_to_response} (src/vmm/src/mmds/mod.rs), with the same status codes and body
 * texts; requests that do not parse get the responses of dumbo's {@code parse_request_bytes}
 * (src/vmm/src/dumbo/tcp/endpoint.rs).
 *
 * <p>Routes: {@code GET <path>} returns the JSON subtree at that JSON pointer, as JSON when the
 * request says {@code Accept: application/json} and in the IMDS text format otherwise (any
 * other Accept value is ignored, as micro_http ignores unsupported values). In V2 a GET needs
 * {@code X-metadata-token} or {@code X-aws-ec2-metadata-token} holding a valid, unexpired token,
 * else 401; in V1 a token is optional and not checked. {@code PUT /latest/api/token} with
 * {@code X-metadata-token-ttl-seconds} (or {@code X-aws-ec2-metadata-token-ttl-seconds}) of 1 to
 * 21600 issues a token in either version. Anything else that parses gets 405.
 *
 * <p><b>Guest-controlled.</b> Every byte of the request. The caller bounds it (the TCP endpoint
 * holds at most {@value #MAX_REQUEST_BYTES} bytes); parsing is linear in its length, allocates
 * at most a few copies of it, and every failure becomes a response, never an exception.
 *
 * <p>Threads: stateless; {@link Mmds} does its own locking.
 */
public final class MmdsHttp {

    /** The longest request the TCP endpoint buffers: dumbo's RCV_BUF_MAX_SIZE (2500) less one. */
    public static final int MAX_REQUEST_BYTES = 2499;
    /** The token resource (token.rs PATH_TO_TOKEN). */
    public static final String PATH_TO_TOKEN = "/latest/api/token";

    // Firecracker's texts (mod.rs VmmMmdsError, micro_http RequestError / HttpHeaderError).
    static final String INVALID_TOKEN = "MMDS token not valid.",
            INVALID_URI = "Invalid URI.",
            METHOD_NOT_ALLOWED = "Not allowed HTTP method.",
            NO_TOKEN_PROVIDED = "No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` "
                    + "header to specify the session token.",
            NO_TTL_PROVIDED = "Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "
                    + "`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime.",
            INVALID_REQUEST = "Invalid request.",
            UNSUPPORTED_METHOD = "Unsupported HTTP method.",
            UNSUPPORTED_VERSION = "Unsupported HTTP version.",
            EMPTY_URI = "Empty URI not allowed.",
            URI_NOT_UTF8 = "Cannot parse URI as UTF-8.";

    static final String JSON = "application/json", TEXT = "text/plain";

    private static final List<String> TOKEN_HEADERS = List.of("x-metadata-token", "x-aws-ec2-metadata-token");
    private static final List<String> TTL_HEADERS =
            List.of("x-metadata-token-ttl-seconds", "x-aws-ec2-metadata-token-ttl-seconds");
    private static final String X_FORWARDED_FOR = "x-forwarded-for";
    private static final int MIN_REQUEST_LINE = 3 + 1 + 8 + 2;   // "GET" SP "HTTP/1.0" and 2 SP

    private MmdsHttp() { }

    /**
     * An HTTP response as micro_http writes it: no reason phrase; {@code Server},
     * {@code Connection: keep-alive}, {@code Allow} when set, extra headers, then
     * {@code Content-Type} and {@code Content-Length}.
     *
     * @param http11        whether the status line says HTTP/1.1 (else HTTP/1.0)
     * @param status        the status code
     * @param contentType   {@code text/plain} or {@code application/json}
     * @param body          the body
     * @param allow         the methods for an {@code Allow} header; empty for none
     * @param extraHeaders  further headers, in order
     */
    public record Response(boolean http11, int status, String contentType, String body, List<String> allow,
                           Map<String, String> extraHeaders) {

        public Response {
            allow = List.copyOf(allow);
            extraHeaders = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extraHeaders));
        }

        static Response of(boolean http11, int status, String contentType, String body) {
            return new Response(http11, status, contentType, body, List.of(), Map.of());
        }

        /** {@return the bytes on the wire} */
        public byte[] toBytes() {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder(160);
            sb.append(http11 ? "HTTP/1.1 " : "HTTP/1.0 ").append(status).append(" \r\n");
            sb.append("Server: Firecracker API\r\nConnection: keep-alive\r\n");
            if (!allow.isEmpty()) {
                sb.append("Allow: ").append(String.join(", ", allow)).append("\r\n");
            }
            extraHeaders.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
            sb.append("Content-Type: ").append(contentType).append("\r\n");
            sb.append("Content-Length: ").append(b.length).append("\r\n\r\n");
            ByteArrayOutputStream out = new ByteArrayOutputStream(sb.length() + b.length);
            out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
            out.writeBytes(b);
            return out.toByteArray();
        }
    }

    /**
     * {@return the index just past the first complete request in buf[off, off+len), or -1}:
     * dumbo's scan for an empty line ("\n\n" or "\n\r\n"), which is all it takes to start
     * parsing; a request that then lacks a proper CRLF CRLF fails to parse.
     */
    public static int findRequestEnd(byte[] buf, int off, int len) {
        if (len <= 2) {
            return -1;
        }
        int end = off + len;
        for (int i = off; i < end - 1; i++) {
            if (buf[i] == '\n') {
                if (buf[i + 1] == '\n') {
                    return i + 2;
                }
                if (i + 3 <= end && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
                    return i + 3;
                }
            }
        }
        return -1;
    }

    /** {@return the response to the request in buf[off, off+len)}; never throws on guest input. */
    public static Response respond(Mmds mmds, byte[] buf, int off, int len) {
        Request request;
        try {
            request = Request.parse(buf, off, len);
        } catch (ParseError e) {
            // dumbo's build_response: HTTP/1.1 and micro_http's default media type.
            return Response.of(true, e.status, JSON, e.getMessage());
        }
        return respond(mmds, request);
    }

    private static Response respond(Mmds mmds, Request request) {
        String uri = request.absPath();
        if (uri.isEmpty()) {
            return Response.of(request.http11, 400, TEXT, INVALID_URI);
        }
        return switch (request.method) {
            case "GET" -> mmds.version() == MmdsVersion.V2 ? getChecked(mmds, request, uri) : get(mmds, request, uri);
            case "PUT" -> put(mmds, request, uri);
            default -> new Response(request.http11, 405, TEXT, METHOD_NOT_ALLOWED, List.of("GET", "PUT"), Map.of());
        };
    }

    private static Response getChecked(Mmds mmds, Request request, String uri) {
        Map.Entry<String, String> token = request.header(TOKEN_HEADERS);
        if (token == null) {
            return Response.of(request.http11, 401, TEXT, NO_TOKEN_PROVIDED);
        }
        if (!mmds.isValidToken(token.getValue())) {
            return Response.of(request.http11, 401, TEXT, INVALID_TOKEN);
        }
        return get(mmds, request, uri);
    }

    private static Response get(Mmds mmds, Request request, String uri) {
        String contentType = request.acceptJson ? JSON : TEXT;
        return switch (mmds.lookup(sanitize(uri), request.acceptJson)) {
            case Mmds.Lookup.Found f -> Response.of(request.http11, 200, contentType, f.body());
            case Mmds.Lookup.NotFound n -> Response.of(request.http11, 404, TEXT, "Resource not found: " + uri + ".");
            case Mmds.Lookup.Unsupported u -> Response.of(request.http11, 501, TEXT, Mmds.UNSUPPORTED_VALUE_TYPE);
        };
    }

    private static Response put(Mmds mmds, Request request, String uri) {
        Map.Entry<String, String> forwarded = request.header(List.of(X_FORWARDED_FOR));
        if (forwarded != null) {
            return Response.of(request.http11, 400, TEXT,
                    "Invalid header. Reason: Unsupported header name. Key: " + forwarded.getKey());
        }
        if (!sanitize(uri).equals(PATH_TO_TOKEN)) {
            return Response.of(request.http11, 404, TEXT, "Resource not found: " + uri + ".");
        }
        Map.Entry<String, String> ttl = request.header(TTL_HEADERS);
        if (ttl == null) {
            return Response.of(request.http11, 400, TEXT, NO_TTL_PROVIDED);
        }
        long seconds = parseU32(ttl.getValue());
        if (seconds < 0) {
            return Response.of(request.http11, 400, TEXT,
                    "Invalid header. Reason: Invalid value. Key:" + ttl.getKey() + "; Value:" + ttl.getValue());
        }
        try {
            String token = mmds.generateToken(seconds);
            return new Response(request.http11, 200, TEXT, token, List.of(),
                    Map.of(ttl.getKey(), Long.toString(seconds)));
        } catch (IllegalArgumentException e) {
            return Response.of(request.http11, 400, TEXT, e.getMessage());
        }
    }

    /** Collapses runs of '/' so the URI is a strict JSON pointer (mod.rs sanitize_uri). */
    static String sanitize(String uri) {
        StringBuilder sb = new StringBuilder(uri.length());
        for (int i = 0; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c != '/' || sb.isEmpty() || sb.charAt(sb.length() - 1) != '/') {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Rust's {@code str::parse::<u32>}: optional '+', decimal digits; -1 when it fails. */
    private static long parseU32(String s) {
        int i = s.startsWith("+") ? 1 : 0;
        if (i == s.length() || s.length() - i > 10) {
            return -1;
        }
        long v = 0;
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v > 0xFFFF_FFFFL ? -1 : v;
    }

    /** A request micro_http could not parse, with the status and body dumbo answers it with. */
    private static final class ParseError extends Exception {
        final int status;

        ParseError(int status, String body) {
            super(body, null, false, false);
            this.status = status;
        }
    }

    /** A parsed request: what micro_http's Request keeps that MMDS uses. */
    private record Request(String method, String uri, boolean http11, boolean acceptJson,
                           Map<String, String> customHeaders) {

        /** The first custom header, in request order, whose name is one of names (lower case). */
        Map.Entry<String, String> header(List<String> names) {
            for (Map.Entry<String, String> e : customHeaders.entrySet()) {
                if (names.contains(e.getKey().toLowerCase(Locale.ROOT))) {
                    return e;
                }
            }
            return null;
        }

        /** micro_http's Uri::get_abs_path: the path of "http://host/path" or "/path", else "". */
        String absPath() {
            if (uri.startsWith("http://")) {
                String rest = uri.substring("http://".length());
                int slash = rest.indexOf('/');
                return slash < 0 ? "" : rest.substring(slash);
            }
            return uri.startsWith("/") ? uri : "";
        }

        static Request parse(byte[] buf, int off, int len) throws ParseError {
            int end = off + len;
            int lineEnd = indexOf(buf, off, end, "\r\n");
            if (lineEnd < 0 || lineEnd - off < MIN_REQUEST_LINE) {
                throw new ParseError(400, INVALID_REQUEST);
            }
            int sp1 = indexOf(buf, off, lineEnd, " ");
            int sp2 = sp1 < 0 ? -1 : indexOf(buf, sp1 + 1, lineEnd, " ");
            if (sp2 < 0) {
                throw new ParseError(400, INVALID_REQUEST);
            }
            String method = new String(buf, off, sp1 - off, StandardCharsets.ISO_8859_1);
            if (!method.equals("GET") && !method.equals("PUT") && !method.equals("PATCH")) {
                throw new ParseError(501, UNSUPPORTED_METHOD);
            }
            if (sp2 == sp1 + 1) {
                throw new ParseError(400, EMPTY_URI);
            }
            String uri = utf8(buf, sp1 + 1, sp2);
            if (uri == null) {
                throw new ParseError(400, URI_NOT_UTF8);
            }
            String version = new String(buf, sp2 + 1, lineEnd - sp2 - 1, StandardCharsets.ISO_8859_1);
            if (!version.equals("HTTP/1.0") && !version.equals("HTTP/1.1")) {
                throw new ParseError(501, UNSUPPORTED_VERSION);
            }
            boolean http11 = version.equals("HTTP/1.1");

            int headersEnd = indexOf(buf, lineEnd, end, "\r\n\r\n");
            if (headersEnd < 0) {
                throw new ParseError(400, INVALID_REQUEST);
            }
            boolean acceptJson = false;
            long contentLength = 0;
            Map<String, String> custom = new LinkedHashMap<>();
            if (headersEnd > lineEnd) {
                String headers = utf8(buf, lineEnd + 2, headersEnd);
                if (headers == null) {
                    throw new ParseError(400, INVALID_REQUEST);
                }
                for (String line : headers.split("\r\n", -1)) {
                    if (line.isEmpty()) {
                        break;
                    }
                    int colon = line.indexOf(':');
                    if (colon < 0) {
                        throw new ParseError(400, "Header is incorrectly formatted. Key: " + line);
                    }
                    String key = line.substring(0, colon), value = line.substring(colon + 1);
                    switch (key.trim().toLowerCase(Locale.ROOT)) {
                        case "content-length" -> {
                            contentLength = parseU32(value.trim());
                            if (contentLength < 0) {
                                throw new ParseError(400, "Invalid value. Key:" + key + "; Value:" + value);
                            }
                        }
                        case "accept" -> {
                            switch (value.trim()) {
                                case JSON -> acceptJson = true;
                                case TEXT -> acceptJson = false;
                                default -> { }   // unsupported values are ignored
                            }
                        }
                        case "accept-encoding" -> checkEncoding(value.trim());
                        case "content-type", "expect", "transfer-encoding", "server" -> { }
                        default -> custom.put(key.trim(), value.trim());
                    }
                }
            }
            // Bounds: dumbo hands over bytes only up to the empty line, so a body never follows.
            long bodyLen = end - (headersEnd + 4);
            if (contentLength > 0 && bodyLen != contentLength) {
                throw new ParseError(400, INVALID_REQUEST);
            }
            return new Request(method, uri, http11, acceptJson, custom);
        }

        /** micro_http's Encoding::try_from: refuses a request that rules out identity. */
        private static void checkEncoding(String value) throws ParseError {
            if (value.isEmpty()) {
                throw new ParseError(400, INVALID_REQUEST);
            }
            for (String enc : value.split(",", -1)) {
                String e = enc.trim();
                if (e.equals("identity;q=0") || e.equals("*;q=0") && !value.contains("identity")) {
                    throw new ParseError(400, "Invalid value. Key:Accept-Encoding; Value:" + enc);
                }
            }
        }

        private static int indexOf(byte[] buf, int from, int to, String seq) {
            outer:
            for (int i = from; i + seq.length() <= to; i++) {
                for (int j = 0; j < seq.length(); j++) {
                    if (buf[i + j] != seq.charAt(j)) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        private static String utf8(byte[] buf, int from, int to) {
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(buf, from, to - from)).toString();
            } catch (CharacterCodingException e) {
                return null;
            }
        }
    }
}
