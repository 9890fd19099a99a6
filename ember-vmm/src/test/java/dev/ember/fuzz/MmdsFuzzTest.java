package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.mmds.Mmds;
import dev.ember.mmds.MmdsGuestHarness;
import dev.ember.mmds.MmdsHttp;
import dev.ember.mmds.MmdsNetworkStack;
import dev.ember.mmds.MmdsVersion;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The metadata service's guest HTTP ({@code dev.ember.mmds}): arbitrary request bytes given to
 * the parser directly, and given to the guest network stack as TCP segments of fuzzed sizes,
 * sequence numbers, flags and timing.
 *
 * <p>Invariants: a request gets one of Firecracker's status codes and a response whose
 * {@code Content-Length} is its body's length; the stack never swallows one of its own TCP
 * segments as an internal error ({@code rxIgnored}), every frame it sends is well formed, its
 * connections stay within {@link MmdsNetworkStack#MAX_CONNECTIONS}; and afterwards a fresh
 * connection's well-formed GET is answered.
 */
class MmdsFuzzTest {

    private static final Set<Integer> STATUSES = Set.of(200, 400, 401, 404, 405, 413, 414, 501, 505);

    @FuzzTest(maxDuration = "15s")
    void requestBytes(FuzzedDataProvider data) {
        MmdsVersion version = data.consumeBoolean() ? MmdsVersion.V2 : MmdsVersion.V1;
        byte[] request = data.consumeRemainingAsBytes();
        try (MmdsGuestHarness harness = new MmdsGuestHarness(version)) {
            Mmds mmds = harness.mmds();
            int len = Math.min(request.length, MmdsHttp.MAX_REQUEST_BYTES);
            MmdsHttp.Response response = MmdsHttp.respond(mmds, request, 0, len);
            assertTrue(STATUSES.contains(response.status()), () -> "status " + response.status());
            String wire = new String(response.toBytes(), StandardCharsets.UTF_8);
            int bodyStart = wire.indexOf("\r\n\r\n") + 4;
            assertTrue(wire.contains("Content-Length: "
                    + (response.toBytes().length - bodyStart) + "\r\n"), "Content-Length matches the body");
            MmdsHttp.findRequestEnd(request, 0, request.length);
        }
    }

    @FuzzTest(maxDuration = "15s")
    void requestSegments(FuzzedDataProvider data) {
        MmdsVersion version = data.consumeBoolean() ? MmdsVersion.V2 : MmdsVersion.V1;
        try (MmdsGuestHarness harness = new MmdsGuestHarness(version)) {
            int iss = data.consumeInt();
            int rcvNxt = 0;
            int[] ports = {1000, 1001, 1002, 1003};
            for (int i = 0; i < 48 && data.remainingBytes() > 0; i++) {
                int port = ports[data.consumeInt(0, ports.length - 1)];
                switch (data.consumeInt(0, 5)) {
                    case 0 -> harness.send(port, iss, 0, MmdsGuestHarness.SYN, data.consumeInt(0, 0xFFFF),
                            data.consumeInt(0, 2000), new byte[0]);
                    case 1, 2, 3 -> {
                        // A piece of the request near the expected sequence number, acknowledging what arrived.
                        int seq = iss + 1 + data.consumeInt(-4, 2600);
                        int flags = data.consumeBoolean() ? MmdsGuestHarness.ACK | MmdsGuestHarness.PSH
                                : data.consumeInt(0, 0x3F);
                        harness.send(port, seq, rcvNxt, flags, data.consumeInt(0, 0xFFFF), 0,
                                data.consumeBytes(data.consumeInt(0, 1600)));
                    }
                    case 4 -> harness.send(port, data.consumeInt(), data.consumeInt(), data.consumeInt(0, 0x3F),
                            data.consumeInt(0, 0xFFFF), 0, data.consumeBytes(data.consumeInt(0, 64)));
                    default -> harness.advance(data.consumeInt(0, 12_000));
                }
                for (MmdsGuestHarness.Segment s : harness.takeReceived()) {
                    if ((s.flags() & MmdsGuestHarness.SYN) != 0) {
                        rcvNxt = s.seq() + 1;
                    } else {
                        rcvNxt = s.seq() + s.data().length;
                    }
                }
                assertTrue(harness.connectionCount() <= MmdsNetworkStack.MAX_CONNECTIONS);
            }
            assertEquals(0, harness.metrics().rxIgnored(), "TCP segments the stack ignored after an internal error");
            // Evicts idle connections if all slots are busy, then must answer.
            harness.advance(MmdsGuestHarness.EVICTION_MILLIS + 1);
            String response = harness.exchange(5000, version == MmdsVersion.V1
                    ? "GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n"
                    : "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n");
            assertTrue(response.startsWith("HTTP/1.1 200 "), () -> "after the fuzzed segments: " + response);
        }
    }
}
