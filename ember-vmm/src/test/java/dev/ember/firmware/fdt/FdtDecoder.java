package dev.ember.firmware.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal, independent reader of the blobs {@link FdtBuilder} writes, for tests: checks the
 * header and walks the structure block into nodes keyed by path.
 */
public final class FdtDecoder {

    /** One node: its properties and child names, in blob order. */
    public record Node(String path, Map<String, byte[]> properties, List<String> children) {

        public int[] u32s(String name) {
            ByteBuffer b = ByteBuffer.wrap(properties.get(name)).order(ByteOrder.BIG_ENDIAN);
            int[] cells = new int[b.remaining() / 4];
            for (int i = 0; i < cells.length; i++) {
                cells[i] = b.getInt();
            }
            return cells;
        }

        public List<String> strings(String name) {
            byte[] v = properties.get(name);
            String all = new String(v, 0, v.length - 1, StandardCharsets.UTF_8);
            return Arrays.asList(all.split("\0", -1));
        }
    }

    public final int totalSize;
    public final int version;
    public final int lastCompVersion;
    public final int bootCpuidPhys;
    public final List<long[]> reservations = new ArrayList<>();
    /** Nodes by path ("/" for the root), in blob order. */
    public final Map<String, Node> nodes = new LinkedHashMap<>();

    public FdtDecoder(byte[] blob) {
        ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.BIG_ENDIAN);
        assertEquals(0xD00D_FEED, b.getInt(0), "magic");
        totalSize = b.getInt(4);
        assertEquals(blob.length, totalSize, "totalsize");
        int offStruct = b.getInt(8);
        int offStrings = b.getInt(12);
        int offRsvmap = b.getInt(16);
        version = b.getInt(20);
        lastCompVersion = b.getInt(24);
        bootCpuidPhys = b.getInt(28);
        int sizeStrings = b.getInt(32);
        int sizeStruct = b.getInt(36);
        assertEquals(0, offRsvmap % 8, "rsvmap alignment");
        assertEquals(0, offStruct % 4, "struct alignment");
        assertTrue(offStruct + sizeStruct <= offStrings && offStrings + sizeStrings <= totalSize, "block bounds");

        for (int p = offRsvmap; ; p += 16) {
            long address = b.getLong(p);
            long size = b.getLong(p + 8);
            if (address == 0 && size == 0) {
                break;
            }
            reservations.add(new long[] {address, size});
        }

        List<Node> stack = new ArrayList<>();
        int p = offStruct;
        while (true) {
            int token = b.getInt(p);
            p += 4;
            switch (token) {
                case 1 -> {
                    int end = p;
                    while (blob[end] != 0) {
                        end++;
                    }
                    String name = new String(blob, p, end - p, StandardCharsets.UTF_8);
                    p = align4(end + 1);
                    String path = stack.isEmpty() ? "/"
                            : (stack.getLast().path().equals("/") ? "" : stack.getLast().path()) + "/" + name;
                    if (!stack.isEmpty()) {
                        stack.getLast().children().add(name);
                    }
                    Node node = new Node(path, new LinkedHashMap<>(), new ArrayList<>());
                    nodes.put(path, node);
                    stack.add(node);
                }
                case 2 -> stack.removeLast();
                case 3 -> {
                    int len = b.getInt(p);
                    int nameOff = b.getInt(p + 4);
                    int end = offStrings + nameOff;
                    while (blob[end] != 0) {
                        end++;
                    }
                    String name = new String(blob, offStrings + nameOff, end - offStrings - nameOff, StandardCharsets.UTF_8);
                    stack.getLast().properties().put(name, Arrays.copyOfRange(blob, p + 8, p + 8 + len));
                    p = align4(p + 8 + len);
                }
                case 4 -> { }
                case 9 -> {
                    assertTrue(stack.isEmpty(), "FDT_END inside a node");
                    assertEquals(offStruct + sizeStruct, p, "size_dt_struct");
                    return;
                }
                default -> throw new AssertionError("bad token " + token + " at " + (p - 4));
            }
        }
    }

    public Node node(String path) {
        Node n = nodes.get(path);
        if (n == null) {
            throw new AssertionError("no node " + path + " in " + nodes.keySet());
        }
        return n;
    }

    private static int align4(int p) {
        return (p + 3) & ~3;
    }
}
