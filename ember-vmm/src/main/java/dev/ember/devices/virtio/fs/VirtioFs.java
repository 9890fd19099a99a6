package dev.ember.devices.virtio.fs;

import dev.ember.config.ShareConfig;
import dev.ember.devices.virtio.ConfigSpace;
import dev.ember.devices.virtio.MetricsSink;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A virtio file system device (VIRTIO 1.2 §5.11) that shares one host directory, served by a
 * {@link FuseServer} in this process; the guest mounts it with {@code mount -t virtiofs TAG dir}.
 *
 * <pre>
 *   queues (§5.11.2)   0 hiprio (FORGET, INTERRUPT: no reply)   1 request queue
 *   request (§5.11.6)  fuse_in_header + arguments          device-readable
 *                      fuse_out_header + results           device-writable
 *   config (§5.11.4)   0 tag[36] (UTF-8, NUL-padded)   36 num_request_queues:le32 = 1
 * </pre>
 *
 * <p>No feature bits of its own (VIRTIO_FS_F_NOTIFICATION is not offered), no DAX window.
 *
 * <p>Threads: file I/O can block, so requests are served on the device's own thread,
 * {@code ember-virtiofs-TAG}, not on the vCPU: {@link #queueNotify} only wakes it. The thread
 * serves one chain at a time under the device's monitor (the {@link VirtioDevice} rule: queues
 * and guest RAM are touched only under it), releasing the monitor between chains so a vCPU's
 * notify waits for one request at most. The {@link FuseServer} is used only under the monitor.
 *
 * <p>Snapshots: refused. The guest holds node IDs that stand for host descriptors, which a
 * restored process would not have; {@link #saveState} throws, and the snapshot with it.
 *
 * <p><b>Guest-controlled.</b> Chains come from the driver: a request is copied out of guest RAM
 * once, at most {@link FuseServer#MAX_REQUEST} bytes of it (a longer one fails the server's
 * length check and goes back unanswered), and the reply is at most the chain's writable bytes.
 * The server bounds everything else; nothing a request holds makes this thread throw.
 */
public final class VirtioFs implements VirtioDevice {

    /** §5.11.1: device ID. */
    public static final int VIRTIO_ID_FS = 26;
    /** §5.11.2: queue indices. */
    public static final int HIPRIO = 0, REQUEST = 1;
    /** §5.11.4: the tag's size in the configuration space. */
    public static final int TAG_BYTES = 36;
    /** The size of each queue. */
    public static final int QUEUE_SIZE = 256;

    private final String tag;
    private final FuseServer server;
    private final byte[] config = new byte[TAG_BYTES + 4];
    private final VirtioFsMetrics metrics;
    private final byte[] request = new byte[FuseServer.MAX_REQUEST];
    private final byte[] reply = new byte[FuseServer.MAX_REPLY];
    private final Thread thread;

    private VirtioContext context;   // null while inactive
    private boolean pending;
    private boolean closed;

    /** A device sharing {@code server}'s directory under {@code tag}; it owns the server from here on. */
    public VirtioFs(String tag, FuseServer server) {
        byte[] t = tag.getBytes(StandardCharsets.UTF_8);
        if (t.length == 0 || t.length > TAG_BYTES) {
            throw new IllegalArgumentException("virtio-fs tag must be 1 to 36 bytes: '" + tag + "'");
        }
        this.tag = tag;
        this.server = server;
        this.metrics = new VirtioFsMetrics(server.counters());
        System.arraycopy(t, 0, config, 0, t.length);
        config[TAG_BYTES] = 1;
        thread = Thread.ofPlatform().daemon().name("ember-virtiofs-" + tag).unstarted(this::run);
        thread.start();
    }

    /** {@return the share's tag} */
    public String tag() {
        return tag;
    }

    /** {@return the server, for tests and figures} */
    public FuseServer server() {
        return server;
    }

    /** {@return this device's counters} */
    public VirtioFsMetrics metrics() {
        return metrics;
    }

    @Override
    public int deviceType() {
        return VIRTIO_ID_FS;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int queueMaxSize(int index) {
        return QUEUE_SIZE;
    }

    @Override
    public long readConfig(int offset, int width) {
        return ConfigSpace.read(config, offset, width);
    }

    @Override
    public void activate(VirtioContext context) {
        this.context = context;
        pending = true;
        notifyAll();
    }

    @Override
    public void queueNotify(int index) {
        pending = true;
        notifyAll();
    }

    @Override
    public void reset() {
        context = null;
        pending = false;
        server.reset();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            context = null;
            notifyAll();
        }
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            server.close();
        }
    }

    @Override
    public Record saveState() {
        throw new IllegalStateException("virtio-fs share '" + tag + "' cannot be snapshotted: the guest holds "
                + "host file handles; detach the share (or shut the VM down) to take a snapshot");
    }

    /** The device thread: waits for a notify, then serves both queues until they are empty. */
    private void run() {
        while (true) {
            synchronized (this) {
                while (!closed && (!pending || context == null)) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // Only close() ends this thread.
                    }
                }
                if (closed) {
                    return;
                }
                pending = false;
            }
            boolean more = true;
            while (more) {
                more = serveOne(HIPRIO) | serveOne(REQUEST);
            }
        }
    }

    /** Serves one chain of queue {@code index} under the monitor; {@return whether there was one} */
    private synchronized boolean serveOne(int index) {
        Virtqueue queue = context == null || closed ? null : context.queue(index);
        if (queue == null) {
            return false;
        }
        try {
            DescriptorChain chain = queue.pop();
            if (chain == null) {
                if (queue.enableNotification()) {
                    return true;
                }
                return false;
            }
            int length = chain.read(0, request, 0, request.length);
            int capacity = (int) Math.min(chain.writableBytes(), reply.length);
            int n = server.serve(request, length, reply, capacity);
            int written = n == 0 ? 0 : chain.write(0, reply, 0, n);
            queue.addUsed(chain.head(), written);
            if (queue.needsInterrupt()) {
                context.usedBuffers();
            }
            return true;
        } catch (VirtqueueViolation v) {
            metrics.queueViolations.increment();
            context.fail(v);
            return false;
        }
    }

    @Override
    public void reportMetrics(MetricsSink m, VirtioMmio transport) {
        m.addPerDevice("fs", tag, "requests", metrics.requests());
        m.addPerDevice("fs", tag, "error_replies", metrics.errorReplies());
        m.addPerDevice("fs", tag, "invalid_requests", metrics.invalidRequests());
        m.addPerDevice("fs", tag, "read_bytes", metrics.readBytes());
        m.addPerDevice("fs", tag, "write_bytes", metrics.writeBytes());
        m.addPerDevice("fs", tag, "queue_event_count", transport.notifications(REQUEST) + transport.notifications(HIPRIO));
    }

    /**
     * The share {@code config} describes, its directory opened.
     *
     * @throws IOException if the directory cannot be opened
     */
    public static VirtioFs create(ShareConfig config) throws IOException {
        return new VirtioFs(config.tag(), new FuseServer(config.path(), config.readOnly()));
    }
}
