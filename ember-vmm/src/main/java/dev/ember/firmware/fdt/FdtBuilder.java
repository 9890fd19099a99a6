package dev.ember.firmware.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A writer of flattened device-tree blobs, version 17 (Devicetree Specification v0.4,
 * chapter 5 "Flattened Devicetree (DTB) Format").
 *
 * <pre>
 *   fdt_header             40 bytes, big-endian (§5.2)
 *   memory reservation     {address:be64, size:be64}..., ended by {0, 0} (§5.3), 8-aligned
 *   structure block        FDT_BEGIN_NODE name | FDT_PROP len nameoff value | FDT_END_NODE
 *                          ... FDT_END, every token 4-aligned (§5.4)
 *   strings block          property names, NUL-terminated, each stored once (§5.5)
 * </pre>
 *
 * <p>Use: {@code beginNode("")} for the root, then properties, then child nodes, each closed
 * by {@link #endNode}; {@link #finish} returns the blob. Within a node the properties come
 * before the children (§5.4.2), names are checked against §2.2.1 and §2.2.4, and a name is
 * used at most once per node; breaking any of these rules is a programming error and throws
 * {@link IllegalStateException} or {@link IllegalArgumentException}, so a blob that comes out
 * is well formed. Phandles come from {@link #allocatePhandle}, counting up from 1 as QEMU's
 * do.
 *
 * <p>Threads: confined to the thread that builds the tree; not thread-safe.
 */
public final class FdtBuilder {

    public static final int FDT_MAGIC = 0xD00D_FEED;
    public static final int FDT_BEGIN_NODE = 0x1;
    public static final int FDT_END_NODE = 0x2;
    public static final int FDT_PROP = 0x3;
    public static final int FDT_NOP = 0x4;
    public static final int FDT_END = 0x9;

    public static final int VERSION = 17;
    public static final int LAST_COMP_VERSION = 16;

    static final int HEADER_SIZE = 40;
    private static final int MAX_NAME = 31;
    private static final String NODE_NAME_CHARS =
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,._+-";
    private static final String PROPERTY_NAME_CHARS = NODE_NAME_CHARS + "?#";

    private final ByteArrayOutputStream struct = new ByteArrayOutputStream();
    private final ByteArrayOutputStream strings = new ByteArrayOutputStream();
    private final Map<String, Integer> stringOffsets = new LinkedHashMap<>();
    private final List<long[]> reservations = new ArrayList<>();
    private final Deque<Node> open = new ArrayDeque<>();
    private boolean rootDone;
    private boolean finished;
    private int bootCpuidPhys;
    private int nextPhandle = 1;

    private static final class Node {
        final String name;
        final Set<String> properties = new HashSet<>();
        final Set<String> children = new HashSet<>();

        Node(String name) {
            this.name = name;
        }
    }

    /** Sets the header's {@code boot_cpuid_phys}, the hart that boots; 0 by default. */
    public FdtBuilder bootCpuidPhys(int hartId) {
        this.bootCpuidPhys = hartId;
        return this;
    }

    /** Adds a memory reservation entry (§5.3), a range the client must not use. */
    public FdtBuilder reserveMemory(long gpa, long size) {
        checkNotFinished();
        if (size == 0) {
            throw new IllegalArgumentException("a reservation of size 0 would end the block");
        }
        reservations.add(new long[] {gpa, size});
        return this;
    }

    /** {@return a fresh phandle value, 1, 2, 3, ... in call order} */
    public int allocatePhandle() {
        return nextPhandle++;
    }

    /** Opens a node; the first node must be the root, named {@code ""}. */
    public FdtBuilder beginNode(String name) {
        checkNotFinished();
        if (open.isEmpty()) {
            if (rootDone || !name.isEmpty()) {
                throw new IllegalStateException(rootDone
                        ? "the root node is already closed" : "the first node must be the root \"\"");
            }
        } else {
            checkNodeName(name);
            if (!open.peek().children.add(name)) {
                throw new IllegalStateException("duplicate node " + path() + "/" + name);
            }
        }
        token(FDT_BEGIN_NODE);
        writeString(struct, name);
        align(struct, 4);
        open.push(new Node(name));
        return this;
    }

    /** Closes the innermost open node. */
    public FdtBuilder endNode() {
        checkNotFinished();
        if (open.isEmpty()) {
            throw new IllegalStateException("endNode without an open node");
        }
        token(FDT_END_NODE);
        open.pop();
        if (open.isEmpty()) {
            rootDone = true;
        }
        return this;
    }

    /** Adds a property with a raw value. */
    public FdtBuilder property(String name, byte[] value) {
        checkNotFinished();
        Node node = open.peek();
        if (node == null) {
            throw new IllegalStateException("property " + name + " outside any node");
        }
        checkPropertyName(name);
        if (!node.children.isEmpty()) {
            throw new IllegalStateException(path() + ": property " + name + " after a child node");
        }
        if (!node.properties.add(name)) {
            throw new IllegalStateException(path() + ": duplicate property " + name);
        }
        token(FDT_PROP);
        token(value.length);
        token(stringOffset(name));
        struct.writeBytes(value);
        align(struct, 4);
        return this;
    }

    /** Adds a property with no value, such as {@code interrupt-controller}. */
    public FdtBuilder propertyEmpty(String name) {
        return property(name, new byte[0]);
    }

    /** Adds a property of big-endian 32-bit cells. */
    public FdtBuilder propertyU32(String name, int... cells) {
        ByteBuffer b = ByteBuffer.allocate(4 * cells.length).order(ByteOrder.BIG_ENDIAN);
        for (int c : cells) {
            b.putInt(c);
        }
        return property(name, b.array());
    }

    /** Adds a property of big-endian 64-bit values, each two cells. */
    public FdtBuilder propertyU64(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.BIG_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return property(name, b.array());
    }

    /** Adds a string, or a string list: each NUL-terminated, in order. */
    public FdtBuilder propertyString(String name, String... values) {
        if (values.length == 0) {
            throw new IllegalArgumentException(name + ": a string list needs at least one string");
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String v : values) {
            writeString(b, v);
        }
        return property(name, b.toByteArray());
    }

    /**
     * {@return the blob}; the builder cannot be used afterwards.
     *
     * @throws IllegalStateException if no root was written or a node is still open
     */
    public byte[] finish() {
        checkNotFinished();
        if (!open.isEmpty()) {
            throw new IllegalStateException("node " + path() + " is still open");
        }
        if (!rootDone) {
            throw new IllegalStateException("no root node");
        }
        token(FDT_END);
        finished = true;

        int offMemRsvmap = HEADER_SIZE;   // already 8-aligned
        int offStruct = offMemRsvmap + 16 * (reservations.size() + 1);
        int offStrings = offStruct + struct.size();
        int totalSize = offStrings + strings.size();

        ByteBuffer blob = ByteBuffer.allocate(totalSize).order(ByteOrder.BIG_ENDIAN);
        blob.putInt(FDT_MAGIC)
                .putInt(totalSize)
                .putInt(offStruct)
                .putInt(offStrings)
                .putInt(offMemRsvmap)
                .putInt(VERSION)
                .putInt(LAST_COMP_VERSION)
                .putInt(bootCpuidPhys)
                .putInt(strings.size())
                .putInt(struct.size());
        for (long[] r : reservations) {
            blob.putLong(r[0]).putLong(r[1]);
        }
        blob.putLong(0).putLong(0);
        blob.put(struct.toByteArray());
        blob.put(strings.toByteArray());
        return blob.array();
    }

    private int stringOffset(String name) {
        return stringOffsets.computeIfAbsent(name, n -> {
            int offset = strings.size();
            writeString(strings, n);
            return offset;
        });
    }

    private void token(int value) {
        struct.write(value >>> 24);
        struct.write(value >>> 16);
        struct.write(value >>> 8);
        struct.write(value);
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("string contains NUL: " + s.replace('\0', '?'));
        }
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    private static void align(ByteArrayOutputStream out, int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
    }

    private void checkNotFinished() {
        if (finished) {
            throw new IllegalStateException("finish() was already called");
        }
    }

    private String path() {
        StringBuilder sb = new StringBuilder();
        open.descendingIterator().forEachRemaining(n -> {
            if (!n.name.isEmpty()) {
                sb.append('/').append(n.name);
            }
        });
        return sb.isEmpty() ? "/" : sb.toString();
    }

    /** §2.2.1: {@code node-name[@unit-address]}, node-name 1..31 characters. */
    private static void checkNodeName(String name) {
        int at = name.indexOf('@');
        String base = at < 0 ? name : name.substring(0, at);
        String unit = at < 0 ? "" : name.substring(at + 1);
        if (base.isEmpty() || base.length() > MAX_NAME || !only(base, NODE_NAME_CHARS)
                || (at >= 0 && (unit.isEmpty() || !only(unit, NODE_NAME_CHARS)))) {
            throw new IllegalArgumentException("invalid node name \"" + name + "\"");
        }
    }

    /** §2.2.4: 1..31 characters. */
    private static void checkPropertyName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME || !only(name, PROPERTY_NAME_CHARS)) {
            throw new IllegalArgumentException("invalid property name \"" + name + "\"");
        }
    }

    private static boolean only(String s, String allowed) {
        return s.chars().allMatch(c -> allowed.indexOf(c) >= 0);
    }
}
