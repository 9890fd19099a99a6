package dev.ember.devices.virtio.fs;

import java.util.HashMap;
import java.util.Map;

/**
 * The files the guest knows by node ID: each a host {@code O_PATH} descriptor opened beneath
 * the share, with the guest's lookup count (the Linux FUSE protocol's {@code nlookup}).
 *
 * <p>A file looked up twice (through two names, or again after a rename) is one node: nodes
 * are keyed by the host's {@code (st_dev, st_ino)} too, which the open descriptor keeps from
 * being reused. Node IDs count up and are never reused, so generation 0 is enough.
 *
 * <p><b>Guest-controlled.</b> Node IDs and forget counts come from the guest: an unknown ID
 * finds nothing, a count larger than the node's drops it, the root is never dropped. The table
 * holds at most {@code max} nodes; beyond that a lookup is refused ({@code ENFILE}) and nothing
 * is opened, so the guest cannot make the host run out of descriptors.
 *
 * <p>Threads: owned by the {@link FuseServer}'s thread.
 */
final class Inodes {

    /** FUSE_ROOT_ID. */
    static final long ROOT = 1;

    /** One node: its host descriptor, identity and lookup count. */
    static final class Inode {
        final long nodeid;
        final int fd;
        final long dev;
        final long ino;
        final int type;
        long lookups;

        Inode(long nodeid, int fd, long dev, long ino, int type) {
            this.nodeid = nodeid;
            this.fd = fd;
            this.dev = dev;
            this.ino = ino;
            this.type = type;
        }

        boolean isDirectory() {
            return type == HostFs.S_IFDIR;
        }
    }

    private record Key(long dev, long ino) { }

    private final HostFs host;
    private final int max;
    private final Map<Long, Inode> byId = new HashMap<>();
    private final Map<Key, Inode> byFile = new HashMap<>();
    private long nextId = ROOT + 1;

    Inodes(HostFs host, int max) {
        this.host = host;
        this.max = max;
    }

    /** {@return node {@code nodeid}, or null} */
    Inode get(long nodeid) {
        return byId.get(nodeid);
    }

    /** {@return how many nodes are held} */
    int size() {
        return byId.size();
    }

    /** Installs the share's root as node 1; it is never forgotten. */
    void root(int fd, HostFs.Stat st) {
        Inode root = new Inode(ROOT, fd, st.dev(), st.ino(), st.type());
        root.lookups = 1;
        byId.put(ROOT, root);
        byFile.put(new Key(st.dev(), st.ino()), root);
    }

    /**
     * Counts one more lookup of the file {@code fd} holds: the node it already has (and
     * {@code fd} is closed) or a new one that takes over {@code fd}.
     *
     * @return the node, or null when the table is full ({@code fd} is closed)
     */
    Inode lookedUp(int fd, HostFs.Stat st) {
        Key key = new Key(st.dev(), st.ino());
        Inode known = byFile.get(key);
        if (known != null) {
            host.close(fd);
            known.lookups++;
            return known;
        }
        if (byId.size() >= max) {
            host.close(fd);
            return null;
        }
        Inode node = new Inode(nextId++, fd, st.dev(), st.ino(), st.type());
        node.lookups = 1;
        byId.put(node.nodeid, node);
        byFile.put(key, node);
        return node;
    }

    /** FUSE_FORGET: drops {@code count} lookups of {@code nodeid}, and the node when none is left. */
    void forget(long nodeid, long count) {
        Inode node = byId.get(nodeid);
        if (node == null || nodeid == ROOT) {
            return;
        }
        node.lookups -= Math.min(node.lookups, count < 0 ? Long.MAX_VALUE : count);
        if (node.lookups == 0) {
            byId.remove(nodeid);
            byFile.remove(new Key(node.dev, node.ino));
            host.close(node.fd);
        }
    }

    /** Drops every node but the root (a new FUSE session, or the end). */
    void clear(boolean includingRoot) {
        for (Inode node : byId.values()) {
            if (includingRoot || node.nodeid != ROOT) {
                host.close(node.fd);
            }
        }
        Inode root = byId.get(ROOT);
        byId.clear();
        byFile.clear();
        if (!includingRoot && root != null) {
            byId.put(ROOT, root);
            byFile.put(new Key(root.dev, root.ino), root);
        }
    }
}
