package dev.ember.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * The host's client of {@code ember-agent}, the guest agent ({@code guest/agent/PROTOCOL.md}):
 * runs processes in the guest with separate stdout and stderr, stdin, signals and a terminal;
 * mounts file systems; sets the hostname; powers the guest off.
 *
 * <pre>{@code
 * GuestAgent agent = new GuestAgent(vsockUdsPath);
 * agent.awaitReady(Duration.ofSeconds(60));
 * try (GuestProcess p = agent.spawn(ProcessSpec.shell("uname -m"))) {
 *     byte[] out = p.stdout().readAllBytes();     // "riscv64\n"
 *     int status = p.waitFor();                    // 0
 * }
 * }</pre>
 *
 * <p>Each request opens its own connection through the VM's vsock device ({@code udsPath}, the
 * {@code uds_path} of Firecracker's vsock), so any number of processes may run at once, each on
 * its own connection, and this object holds no state: it is thread-safe.
 */
public final class GuestAgent {

    private static final long RETRY_MILLIS = 100;

    private final Path udsPath;

    /** A client for the agent behind the vsock device listening on {@code udsPath}. */
    public GuestAgent(Path udsPath) {
        this.udsPath = Objects.requireNonNull(udsPath, "udsPath");
    }

    /** {@return the vsock device's Unix socket this client connects to} */
    public Path udsPath() {
        return udsPath;
    }

    /**
     * Asks the agent whether it runs.
     *
     * @return its version string ({@code ember-agent 1})
     * @throws IOException if no agent answers (not started yet, no agent in this guest)
     */
    public String ping() throws IOException, AgentException {
        try (AgentConnection c = AgentConnection.open(udsPath)) {
            c.send(AgentProtocol.PING, new byte[0]);
            return expectOk(c.requireFrame(), "ping").text();
        }
    }

    /**
     * Pings until the agent answers, for a guest that is still booting.
     *
     * @return the agent's version string
     * @throws TimeoutException if it did not answer within {@code timeout}; the message says why the last try failed
     */
    public String awaitReady(Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last;
        do {
            try {
                return ping();
            } catch (IOException | AgentException e) {
                last = e;
            }
            Thread.sleep(RETRY_MILLIS);
        } while (System.nanoTime() - deadline < 0);
        throw new TimeoutException("guest agent did not answer on " + udsPath + " within " + timeout + ": "
                + last.getMessage());
    }

    /**
     * Starts a process in the guest.
     *
     * @throws AgentException if the guest could not start it ({@link AgentException#exitCode}: 127
     *                        when the program was not found, 126 otherwise)
     * @throws IOException    if no agent answers or the connection fails
     */
    public GuestProcess spawn(ProcessSpec spec) throws IOException, AgentException {
        AgentConnection c = AgentConnection.open(udsPath);
        try {
            c.send(AgentProtocol.SPAWN, spec.encode());
            AgentProtocol.Frame first = c.requireFrame();
            if (first.type() == AgentProtocol.STARTED) {
                return new GuestProcess(c, first.u32());
            }
            if (first.type() == AgentProtocol.FAILED) {
                AgentProtocol.Frame exit = c.readFrame();
                int status = exit != null && exit.type() == AgentProtocol.EXIT ? exit.u32() : 126;
                c.close();
                throw new AgentException(first.text(), status);
            }
            throw new AgentProtocol.ProtocolException("unexpected answer " + first + " to a spawn");
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Mounts a file system in the guest, creating the target if it is missing.
     *
     * @throws AgentException with the guest's message if {@code mount(2)} failed
     */
    public void mount(MountSpec mount) throws IOException, AgentException {
        request(AgentProtocol.MOUNT, mount.encode(), "mount " + mount.target());
    }

    /** Sets the guest's hostname. */
    public void hostname(String name) throws IOException, AgentException {
        request(AgentProtocol.HOSTNAME, name.getBytes(StandardCharsets.UTF_8), "hostname");
    }

    /**
     * Asks the guest to power off: under busybox init a clean shutdown (rcK), as PID 1 a
     * {@code sync} and {@code reboot(RB_POWER_OFF)}. Returns once the agent has acknowledged.
     */
    public void powerOff() throws IOException, AgentException {
        request(AgentProtocol.POWEROFF, new byte[0], "poweroff");
    }

    private void request(byte type, byte[] payload, String what) throws IOException, AgentException {
        try (AgentConnection c = AgentConnection.open(udsPath)) {
            c.send(type, payload);
            expectOk(c.requireFrame(), what);
        }
    }

    private static AgentProtocol.Frame expectOk(AgentProtocol.Frame f, String what)
            throws AgentException, AgentProtocol.ProtocolException {
        if (f.type() == AgentProtocol.OK) {
            return f;
        }
        if (f.type() == AgentProtocol.FAILED) {
            throw new AgentException(what + ": " + f.text());
        }
        throw new AgentProtocol.ProtocolException("unexpected answer " + f + " to " + what);
    }
}
