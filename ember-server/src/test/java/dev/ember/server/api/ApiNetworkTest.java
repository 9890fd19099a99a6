package dev.ember.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A network interface on a real TAP device through the API, as in Firecracker's getting-started
 * guide, then the run-time {@code PATCH /network-interfaces/{id}} of its rate limiters: seen in
 * the time the guest's traffic takes, in {@code GET /vm/config} and in the metrics file.
 *
 * <p>The TAP lives in a network namespace this test makes and {@code ember} runs inside it, so
 * no frame leaves the namespace; its addresses are TEST-NET-1 (RFC 5737). The guest's traffic is
 * TCP connection attempts to a closed port on the host end, each answered by a reset from the
 * namespace's own kernel. Skipped (JUnit assumptions) without root, {@code /dev/net/tun} or
 * {@code ip netns}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiNetworkTest {

    private static final Duration BOOT = Duration.ofSeconds(90);
    private static final String NS = "ember-api-" + ProcessHandle.current().pid();
    private static final String TAP = "embtap0";
    private static final String HOST_IP = "192.0.2.1";
    private static final String GUEST_IP = "192.0.2.2";
    /** Five connection attempts to a closed port: at least five frames out, five resets in. */
    private static final String FIVE_ATTEMPTS = "for i in 1 2 3 4 5; do nc " + HOST_IP + " 9 </dev/null; done";

    @TempDir
    static Path dir;
    private boolean namespaceMade;
    private ApiProcess ember;
    private Path metrics;
    private MetricsFile metricsFile;

    private static boolean run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static boolean inNamespace(String... ipArgs) {
        List<String> command = new ArrayList<>(List.of("ip", "-n", NS));
        command.addAll(List.of(ipArgs));
        return run(command.toArray(String[]::new));
    }

    @BeforeAll
    void makeTheNamespaceAndStartEmber() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun");
        namespaceMade = run("ip", "netns", "add", NS);
        assumeTrue(namespaceMade, "needs root and ip netns");
        assumeTrue(inNamespace("tuntap", "add", "dev", TAP, "mode", "tap"), "ip tuntap add failed");
        assertTrue(inNamespace("addr", "add", HOST_IP + "/24", "dev", TAP));
        assertTrue(inNamespace("link", "set", TAP, "up"));
        assertTrue(inNamespace("link", "set", "lo", "up"));
        Path socket = dir.resolve("firecracker.socket");
        metrics = dir.resolve("metrics.json");
        metricsFile = new MetricsFile(metrics);
        ember = ApiProcess.startUnder(List.of("ip", "netns", "exec", NS), socket, "--api-sock", socket.toString());
    }

    @AfterAll
    void stop() {
        if (ember != null) {
            ember.close();
        }
        if (namespaceMade) {
            run("ip", "netns", "del", NS);
        }
    }


    /** Runs {@code command} at the guest's shell; returns the seconds until it finished. */
    private double inGuest(String command, int marker) throws Exception {
        long start = System.nanoTime();
        // Only the shell's arithmetic prints the marker, so the echoed command line cannot match.
        ember.send(command + "; echo done-$((" + marker + " + 0))");
        ember.await("done-" + marker, BOOT);
        return (System.nanoTime() - start) / 1e9;
    }

    @Test
    @Order(1)
    void theGuestBootsWithItsInterfaceOnTheTap() throws Exception {
        Path guest = ApiProcess.guestDir();
        assertEquals(204, ember.request("PUT", "/boot-source", "{\"kernel_image_path\": \"" + guest.resolve("Image")
                + "\", \"initrd_path\": \"" + guest.resolve("initramfs.cpio") + "\", \"boot_args\": \"console=ttyS0\"}").status());
        assertEquals(204, ember.request("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}").status());
        assertEquals(204, ember.request("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \""
                + TAP + "\", \"guest_mac\": \"06:00:c0:00:02:02\"}").status());
        assertEquals(204, ember.request("PUT", "/metrics", "{\"metrics_path\": \"" + metrics + "\"}").status());
        assertEquals(204, ember.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
        // Nobody answers DHCP on the TAP: the guest gives up after three tries and starts its shell.
        ember.await("ember-guest: net eth0 no DHCP lease", BOOT);
        inGuest("ifconfig eth0 " + GUEST_IP + " netmask 255.255.255.0 up", 1);
    }

    @Test
    @Order(2)
    void framesCrossTheTapAndAreCountedPerInterface() throws Exception {
        metricsFile.flush(ember);
        inGuest(FIVE_ATTEMPTS, 2);
        JsonNode m = metricsFile.flush(ember);
        JsonNode eth0 = m.get("net_eth0");
        assertTrue(eth0.get("tx_packets_count").asLong() >= 5, m.toString());
        assertTrue(eth0.get("rx_packets_count").asLong() >= 5, "the host's resets reach the guest: " + m);
        assertTrue(eth0.get("tx_bytes_count").asLong() >= 5 * 54, m.toString());
        assertEquals(0, eth0.get("tx_rate_limiter_throttled").asLong(), m.toString());
        assertEquals(eth0.get("tx_packets_count").asLong(), m.get("net").get("tx_packets_count").asLong());
    }

    @Test
    @Order(3)
    void patchedTransmitLimiterPacesTheGuestsFrames() throws Exception {
        assertEquals(204, ember.request("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", "
                + "\"tx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1000}}}").status());
        JsonNode iface = Json.MAPPER.readTree(ember.request("GET", "/vm/config", null).body()).get("network-interfaces").get(0);
        assertEquals(1, iface.get("tx_rate_limiter").get("ops").get("size").asInt(), iface.toString());
        assertFalse(iface.has("rx_rate_limiter") && !iface.get("rx_rate_limiter").isNull()
                && iface.get("rx_rate_limiter").has("ops"), iface.toString());
        metricsFile.flush(ember);
        // One frame a second, one in the bucket: five connection attempts take at least four seconds.
        double seconds = inGuest(FIVE_ATTEMPTS, 3);
        assertTrue(seconds >= 3.5, "five frames through a one-per-second bucket took " + seconds + " s");
        JsonNode m = metricsFile.flush(ember);
        assertTrue(m.get("net_eth0").get("tx_rate_limiter_throttled").asLong() > 0, m.toString());
        assertTrue(m.get("net_eth0").get("tx_packets_count").asLong() >= 5, m.toString());
    }

    @Test
    @Order(4)
    void refusedPatchesChangeNothingAndALimiterCanBeRemoved() throws Exception {
        String before = ember.request("GET", "/vm/config", null).body();
        ApiProcess.Reply unknown = ember.request("PATCH", "/network-interfaces/eth9", "{\"iface_id\": \"eth9\"}");
        assertEquals(400, unknown.status(), unknown.body());
        ApiProcess.Reply mismatch = ember.request("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}");
        assertEquals(400, mismatch.status(), mismatch.body());
        ApiProcess.Reply device = ember.request("PATCH", "/network-interfaces/eth0",
                "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap9\"}");
        assertEquals(400, device.status(), device.body());
        ApiProcess.Reply negative = ember.request("PATCH", "/network-interfaces/eth0",
                "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"bandwidth\": {\"size\": -1, \"refill_time\": 100}}}");
        assertEquals(400, negative.status(), negative.body());
        assertEquals(before, ember.request("GET", "/vm/config", null).body());

        assertEquals(204, ember.request("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", "
                + "\"tx_rate_limiter\": {\"ops\": {\"size\": 0, \"refill_time\": 0}}}").status());
        JsonNode iface = Json.MAPPER.readTree(ember.request("GET", "/vm/config", null).body()).get("network-interfaces").get(0);
        assertTrue(!iface.has("tx_rate_limiter") || iface.get("tx_rate_limiter").isNull()
                || !iface.get("tx_rate_limiter").has("ops"), iface.toString());
        metricsFile.flush(ember);
        inGuest(FIVE_ATTEMPTS, 4);
        assertEquals(0, metricsFile.flush(ember).get("net_eth0").get("tx_rate_limiter_throttled").asLong());
    }

    @Test
    @Order(100)
    void poweroffEndsTheProcess() throws Exception {
        ember.send("poweroff -f");
        assertEquals(0, ember.waitFor(Duration.ofSeconds(30)));
    }
}
