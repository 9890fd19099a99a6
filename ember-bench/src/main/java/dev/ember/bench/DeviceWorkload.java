package dev.ember.bench;

import java.util.List;

/**
 * One I/O job of {@code --devices}, typed at the shell of a guest booted with its root on
 * virtio-blk ({@code vda}), a raw scratch disk ({@code vdb}) and a user-mode network interface;
 * timed like a {@link Workload} and turned into a rate by the bytes it moves.
 *
 * <p>The typed line is {@code PREPARE; } followed by {@link Workload#commandLine}: the
 * preparation (dropping the guest's page cache, say) runs before the first
 * {@code /proc/uptime} reading and is not timed. Unlike a CPU workload's, the answer is known
 * in advance ({@link #expected}) and checked on every run, so a device that loses or
 * truncates data fails the run instead of producing a fast figure.
 *
 * @param key         short metric name
 * @param description what it does, for the report
 * @param prepare     untimed shell commands run first, or empty
 * @param script      the timed shell commands; print {@code @@R=...}
 * @param bytes       bytes moved by {@code script}, for MB/s
 * @param expected    the answer every run must print
 */
record DeviceWorkload(String key, String description, String prepare, String script, long bytes, String expected) {

    static final long MIB = 1024 * 1024;
    /** Size of the sparse scratch file attached as {@code vdb}. */
    static final long SCRATCH_BYTES = 160 * MIB;
    static final int BLOCK_MIB = 128;
    static final int TCP_RX_MIB = 64;
    static final int TCP_TX_MIB = 32;
    /** The guest's address on the user-mode network (both VMMs' DHCP hand it out). */
    static final String GUEST_IP = "10.0.2.15";
    /** The host as the guest sees it on the user-mode network (both VMMs map it to 127.0.0.1). */
    static final String HOST_IP = "10.0.2.2";

    /**
     * Busybox dd's first two status lines, which the block workloads print as their answer:
     * {@code N+0 records in}, {@code N+0 records out} (the third line holds the time).
     */
    private static final String DD_ANSWER = "set -- $(%s 2>&1); echo \"@@R=$1 $2 $3 $4 $5 $6\"";

    /**
     * The untimed first step: waits up to 60 s for eth0's DHCP address (the guest's rcS runs
     * udhcpc before the shell starts, so this normally passes at once), then prints
     * {@code ROOTDEV VDADEV VDASECTORS VDBSECTORS ETH0ADDR DROPCACHES}, which {@link #checkSetup}
     * checks: the root is vda, vda is the root image, vdb the scratch disk, the lease is
     * {@link #GUEST_IP}.
     */
    static final String SETUP_KEY = "io-setup";
    static final String SETUP_SCRIPT = "n=0; until ifconfig eth0 2>/dev/null | grep -q 'inet addr:" + GUEST_IP.replace(".", "\\.")
            + " '; do [ $n -ge 60 ] && break; n=$((n+1)); sleep 1; done; "
            + "echo \"@@R=$(mountpoint -d /) $(cat /sys/block/vda/dev) $(cat /sys/block/vda/size) $(cat /sys/block/vdb/size)"
            + " $(ifconfig eth0 | sed -n 's/.*inet addr:\\([0-9.]*\\).*/\\1/p')"
            + " $(test -w /proc/sys/vm/drop_caches && echo drop-caches || echo no-drop-caches)\"";

    /** {@return the device workloads in the order they run, talking to {@code peers}} */
    static List<DeviceWorkload> all(TcpPeers peers) {
        String ddRecords = BLOCK_MIB + "+0 records in " + BLOCK_MIB + "+0 records out";
        return List.of(
                new DeviceWorkload("blk-write",
                        "dd if=/dev/zero of=/dev/vdb bs=1M count=" + BLOCK_MIB + " conv=fsync (raw scratch disk, "
                                + "sequential, the final flush included)",
                        "",
                        DD_ANSWER.formatted("dd if=/dev/zero of=/dev/vdb bs=1M count=" + BLOCK_MIB + " conv=fsync"),
                        BLOCK_MIB * MIB, ddRecords),
                new DeviceWorkload("blk-read",
                        "dd if=/dev/vdb of=/dev/null bs=1M count=" + BLOCK_MIB + " (the region just written, cold: "
                                + "untimed sync and drop_caches first)",
                        "sync; echo 3 >/proc/sys/vm/drop_caches",
                        DD_ANSWER.formatted("dd if=/dev/vdb of=/dev/null bs=1M count=" + BLOCK_MIB),
                        BLOCK_MIB * MIB, ddRecords),
                new DeviceWorkload("tcp-rx",
                        "host -> guest: nc " + HOST_IP + " PORT </dev/null | wc -c (the host sends " + TCP_RX_MIB
                                + " MiB from 127.0.0.1)",
                        "",
                        "echo \"@@R=$(nc " + HOST_IP + " " + peers.sourcePort() + " </dev/null | wc -c)\"",
                        peers.sourceBytes(), Long.toString(peers.sourceBytes())),
                new DeviceWorkload("tcp-tx",
                        "guest -> host: dd if=/dev/zero bs=1M count=" + TCP_TX_MIB + " | nc " + HOST_IP
                                + " PORT (answer: the byte count the host received)",
                        "",
                        "echo \"@@R=$(dd if=/dev/zero bs=1M count=" + TCP_TX_MIB + " 2>/dev/null | nc " + HOST_IP + " "
                                + peers.sinkPort() + ")\"",
                        TCP_TX_MIB * MIB, Long.toString(TCP_TX_MIB * MIB)));
    }

    /** {@return the line typed at the prompt, ending with the marker {@code @@DONE-n@@}} */
    String commandLine(int n) {
        String timed = new Workload(key, description, script).commandLine(n);
        return prepare.isEmpty() ? timed : prepare + "; " + timed;
    }

    /** {@return the line of the untimed setup step} */
    static String setupLine(int n) {
        return new Workload(SETUP_KEY, "devices and network", SETUP_SCRIPT).commandLine(n);
    }

    /**
     * Checks the setup step's answer.
     *
     * @param rootBytes size of the root image attached as vda
     * @return null when the guest sees what was attached, else what is wrong
     */
    static String checkSetup(String answer, long rootBytes) {
        String[] w = answer.trim().split("\\s+");
        if (w.length != 6) {
            return "expected 'ROOTDEV VDADEV VDASECTORS VDBSECTORS ETH0ADDR DROPCACHES', got '" + answer + "'";
        }
        if (!w[0].equals(w[1])) {
            return "the root file system is on device " + w[0] + ", not on vda (" + w[1] + ")";
        }
        if (!w[2].equals(Long.toString(rootBytes / 512))) {
            return "vda has " + w[2] + " sectors, the root image " + rootBytes / 512;
        }
        if (!w[3].equals(Long.toString(SCRATCH_BYTES / 512))) {
            return "vdb has " + w[3] + " sectors, the scratch disk " + SCRATCH_BYTES / 512;
        }
        if (!w[4].equals(GUEST_IP)) {
            return "eth0 has address '" + w[4] + "', not " + GUEST_IP + " (no DHCP lease?)";
        }
        if (!w[5].equals("drop-caches")) {
            return "/proc/sys/vm/drop_caches is not writable, so blk-read would not be cold";
        }
        return null;
    }
}
