package dev.ember.mmds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MmdsHttpTest {

    private static final String DATA = """
            {"name":{"first":"John","second":"Doe"},"age":43,
             "phones":{"home":{"RO":"+401234567","UK":"+441234567"},"mobile":"+442345678"}}""";
    private static final String JSON_DATA = "{\"age\":43,\"name\":{\"first\":\"John\",\"second\":\"Doe\"},"
            + "\"phones\":{\"home\":{\"RO\":\"+401234567\",\"UK\":\"+441234567\"},\"mobile\":\"+442345678\"}}";

    private final AtomicLong now = new AtomicLong(5_000);

    private Mmds mmds(MmdsVersion version) {
        Mmds m = new Mmds(Mmds.DEFAULT_DATA_STORE_LIMIT, now::get);
        m.put(DATA);
        m.setVersion(version);
        return m;
    }

    private static MmdsHttp.Response send(Mmds m, String request) {
        byte[] b = request.getBytes(StandardCharsets.UTF_8);
        return MmdsHttp.respond(m, b, 0, b.length);
    }

    private static void assertResponse(int status, String contentType, String body, MmdsHttp.Response r) {
        assertEquals(status, r.status(), r.body());
        assertEquals(body, r.body());
        assertEquals(contentType, r.contentType());
    }

    @Test
    void v1GetJsonOfWholeDocument() {
        MmdsHttp.Response r = send(mmds(MmdsVersion.V1),
                "GET http://169.254.169.254/ HTTP/1.0\r\nAccept: application/json\r\n\r\n");
        assertResponse(200, "application/json", JSON_DATA, r);
        assertEquals(false, r.http11());
    }

    @Test
    void v1GetDefaultsToImdsText() {
        assertResponse(200, "text/plain", "age\nname/\nphones/", send(mmds(MmdsVersion.V1), "GET / HTTP/1.1\r\n\r\n"));
        assertResponse(200, "text/plain", "RO\nUK", send(mmds(MmdsVersion.V1),
                "GET /phones//home/ HTTP/1.1\r\nAccept: text/plain\r\n\r\n"));
        assertResponse(200, "text/plain", "John", send(mmds(MmdsVersion.V1),
                "GET /name/first HTTP/1.1\r\nAccept: */*\r\nHost: 169.254.169.254\r\n\r\n"));
    }

    @Test
    void v1GetStringAsJsonIsQuoted() {
        assertResponse(200, "application/json", "\"John\"", send(mmds(MmdsVersion.V1),
                "GET http://169.254.169.254/name/first HTTP/1.0\r\nAccept: application/json\r\n"
                        + "X-metadata-token-ttl-seconds: application/json\r\n\r\n"));
    }

    @Test
    void v1NumberInImdsIsNotImplemented() {
        assertResponse(501, "text/plain", "Cannot retrieve value. The value has an unsupported type.",
                send(mmds(MmdsVersion.V1), "GET /age HTTP/1.1\r\n\r\n"));
    }

    @Test
    void missingResourceIs404WithFirecrackerText() {
        assertResponse(404, "text/plain", "Resource not found: /invalid.",
                send(mmds(MmdsVersion.V1), "GET http://169.254.169.254/invalid HTTP/1.0\r\n\r\n"));
    }

    @Test
    void emptyAbsolutePathIsInvalidUri() {
        assertResponse(400, "text/plain", "Invalid URI.", send(mmds(MmdsVersion.V1), "GET http:// HTTP/1.0\r\n\r\n"));
        assertResponse(400, "text/plain", "Invalid URI.", send(mmds(MmdsVersion.V1), "GET name HTTP/1.0\r\n\r\n"));
    }

    @Test
    void patchIsMethodNotAllowedWithAllowHeader() {
        MmdsHttp.Response r = send(mmds(MmdsVersion.V2), "PATCH http://169.254.169.255/ HTTP/1.0\r\n\r\n");
        assertResponse(405, "text/plain", "Not allowed HTTP method.", r);
        assertEquals(List.of("GET", "PUT"), r.allow());
        assertTrue(new String(r.toBytes(), StandardCharsets.UTF_8).contains("\r\nAllow: GET, PUT\r\n"));
    }

    @Test
    void unsupportedMethodIs501() {
        assertResponse(501, "application/json", "Unsupported HTTP method.",
                send(mmds(MmdsVersion.V1), "POST / HTTP/1.1\r\n\r\n"));
    }

    @Test
    void unsupportedVersionIs501() {
        assertResponse(501, "application/json", "Unsupported HTTP version.",
                send(mmds(MmdsVersion.V1), "GET / HTTP/2.0\r\n\r\n"));
    }

    @Test
    void malformedRequestLinesAreInvalidRequest() {
        for (String req : List.of("GET\r\n\r\n", "GET /HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\n\n", "garbage\r\n\r\n",
                "GET / HTTP/1.1\r\nAccept: text/plain\n\n")) {
            assertResponse(400, "application/json", "Invalid request.", send(mmds(MmdsVersion.V1), req));
        }
    }

    @Test
    void emptyUriIsRefused() {
        assertResponse(400, "application/json", "Empty URI not allowed.",
                send(mmds(MmdsVersion.V1), "PATCH  HTTP/1.1\r\n\r\n"));
        // Shorter than "GET / HTTP/1.0" cannot be a request line at all.
        assertResponse(400, "application/json", "Invalid request.",
                send(mmds(MmdsVersion.V1), "GET  HTTP/1.1\r\n\r\n"));
    }

    @Test
    void headerWithoutColonIsRefused() {
        assertResponse(400, "application/json", "Header is incorrectly formatted. Key: NoColonHere",
                send(mmds(MmdsVersion.V1), "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n"));
    }

    @Test
    void contentLengthWithoutBodyIsInvalidRequest() {
        assertResponse(400, "application/json", "Invalid request.",
                send(mmds(MmdsVersion.V1), "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"));
    }

    @Test
    void v2GetWithoutTokenIs401() {
        assertResponse(401, "text/plain", "No MMDS token provided. Use `X-metadata-token` or "
                        + "`X-aws-ec2-metadata-token` header to specify the session token.",
                send(mmds(MmdsVersion.V2), "GET http://169.254.169.254/ HTTP/1.0\r\n\r\n"));
    }

    @Test
    void v2GetWithInvalidTokenIs401() {
        assertResponse(401, "text/plain", "MMDS token not valid.",
                send(mmds(MmdsVersion.V2), "GET / HTTP/1.0\r\nX-metadata-token: foo\r\n\r\n"));
    }

    @Test
    void v2TokenIssueThenGetWithEitherHeader() {
        Mmds m = mmds(MmdsVersion.V2);
        MmdsHttp.Response put = send(m, "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
                + "X-metadata-token-ttl-seconds: 60\r\n\r\n");
        assertEquals(200, put.status());
        assertEquals("text/plain", put.contentType());
        assertEquals(Map.of("X-metadata-token-ttl-seconds", "60"), put.extraHeaders());
        String token = put.body();
        assertResponse(200, "application/json", JSON_DATA, send(m,
                "GET / HTTP/1.0\r\nAccept: application/json\r\nX-metadata-token: " + token + "\r\n\r\n"));
        assertResponse(200, "text/plain", "Doe", send(m,
                "GET /name/second HTTP/1.1\r\nx-aws-ec2-metadata-token: " + token + "\r\n\r\n"));
    }

    @Test
    void v2ExpiredTokenIs401() {
        Mmds m = mmds(MmdsVersion.V2);
        String token = send(m, "PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 1\r\n\r\n")
                .body();
        assertEquals(200, send(m, "GET / HTTP/1.1\r\nX-metadata-token: " + token + "\r\n\r\n").status());
        now.addAndGet(1_000);
        assertResponse(401, "text/plain", "MMDS token not valid.",
                send(m, "GET / HTTP/1.1\r\nX-metadata-token: " + token + "\r\n\r\n"));
    }

    @Test
    void v1AcceptsInvalidTokenAndIssuesTokens() {
        Mmds m = mmds(MmdsVersion.V1);
        assertEquals(200, send(m, "GET / HTTP/1.1\r\nX-metadata-token: foo\r\n\r\n").status());
        assertEquals(200, send(m, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n\r\n")
                .status());
    }

    @Test
    void ttlOutOfBoundsIs400() {
        for (long ttl : new long[] {0, 21_601}) {
            assertResponse(400, "text/plain", "Invalid time to live value provided for token: " + ttl
                            + ". Please provide a value between 1 and 21600.",
                    send(mmds(MmdsVersion.V2), "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
                            + "X-metadata-token-ttl-seconds: " + ttl + "\r\n\r\n"));
        }
    }

    @Test
    void ttlNotANumberIs400() {
        assertResponse(400, "text/plain",
                "Invalid header. Reason: Invalid value. Key:X-metadata-token-ttl-seconds; Value:-5",
                send(mmds(MmdsVersion.V2), "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: -5\r\n\r\n"));
    }

    @Test
    void putWithoutTtlIs400() {
        assertResponse(400, "text/plain", "Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "
                        + "`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime.",
                send(mmds(MmdsVersion.V2), "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n\r\n"));
    }

    @Test
    void putElsewhereIs404() {
        assertResponse(404, "text/plain", "Resource not found: /token.", send(mmds(MmdsVersion.V2),
                "PUT http://169.254.169.254/token HTTP/1.0\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n"));
    }

    @Test
    void putWithForwardedForIsRefused() {
        assertResponse(400, "text/plain", "Invalid header. Reason: Unsupported header name. Key: X-Forwarded-For",
                send(mmds(MmdsVersion.V2), "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
                        + "X-Forwarded-For: 203.0.113.195\r\n\r\n"));
    }

    @Test
    void responseBytesAreMicroHttpLayout() {
        MmdsHttp.Response r = send(mmds(MmdsVersion.V1), "GET /name/first HTTP/1.1\r\n\r\n");
        assertEquals("HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
                + "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nJohn",
                new String(r.toBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void findRequestEndFollowsDumbo() {
        byte[] b = "GET / HTTP/1.1\r\n\r\nGET".getBytes(StandardCharsets.US_ASCII);
        assertEquals(18, MmdsHttp.findRequestEnd(b, 0, b.length));
        assertEquals(-1, MmdsHttp.findRequestEnd(b, 0, 17));
        byte[] lf = "GET / HTTP/1.1\n\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals(lf.length, MmdsHttp.findRequestEnd(lf, 0, lf.length));
    }

    @Test
    void randomBytesNeverThrow() {
        java.util.Random rnd = new java.util.Random(42);
        Mmds m = mmds(MmdsVersion.V2);
        for (int i = 0; i < 5_000; i++) {
            byte[] b = new byte[rnd.nextInt(200)];
            rnd.nextBytes(b);
            if (i % 2 == 0 && b.length > 20) {
                System.arraycopy("GET /a HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII), 0, b, 0, 17);
            }
            MmdsHttp.Response r = MmdsHttp.respond(m, b, 0, b.length);
            assertTrue(r.status() >= 200 && r.status() < 600);
        }
    }
}
