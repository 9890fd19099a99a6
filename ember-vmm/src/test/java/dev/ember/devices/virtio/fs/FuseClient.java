package dev.ember.devices.virtio.fs;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A FUSE client in Java, for tests: builds requests as Linux's fuse module lays them out
 * ({@code include/uapi/linux/fuse.h}) and reads the replies of a {@link FuseServer}.
 */
final class FuseClient {

    /** A reply: its error (0 or -errno) and its body after the out header. */
    record Reply(int error, ByteBuffer body) {
        long u64(int offset) { return body.getLong(offset); }
        int u32(int offset) { return body.getInt(offset); }
        int length() { return body.limit(); }
        byte[] bytes() {
            byte[] b = new byte[body.limit()];
            body.get(0, b);
            return b;
        }
        /** fuse_entry_out's node ID; fuse_attr starts at 40. */
        long nodeid() { return u64(0); }
        int entryMode() { return u32(40 + 60); }
        long entrySize() { return u64(40 + 8); }
        /** fuse_attr_out's attr starts at 16. */
        long attrSize() { return u64(16 + 8); }
        int attrMode() { return u32(16 + 60); }
    }

    private final FuseServer server;
    private final byte[] reply = new byte[FuseServer.MAX_REPLY];
    private long unique = 1;
    int uid = 0, gid = 0;

    FuseClient(FuseServer server) {
        this.server = server;
    }

    /** Arguments: Integer as u32, Long as u64, String as a NUL-terminated name, byte[] as is. */
    static byte[] args(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            ByteBuffer b;
            switch (p) {
                case Integer i -> b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(i);
                case Long l -> b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(l);
                case String s -> {
                    byte[] n = s.getBytes(StandardCharsets.UTF_8);
                    b = ByteBuffer.allocate(n.length + 1).put(n);
                }
                case byte[] raw -> b = ByteBuffer.wrap(raw);
                default -> throw new IllegalArgumentException(String.valueOf(p));
            }
            out.write(b.array(), 0, b.capacity());
        }
        return out.toByteArray();
    }

    /** {@return the request bytes of {@code opcode} on {@code nodeid} with {@code args}} */
    byte[] request(int opcode, long nodeid, byte[] args) {
        ByteBuffer b = ByteBuffer.allocate(40 + args.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(40 + args.length).putInt(opcode).putLong(unique++).putLong(nodeid)
                .putInt(uid).putInt(gid).putInt(1234).putInt(0).put(args);
        return b.array();
    }

    /** Serves raw request bytes; {@return the reply, or null when there was none} */
    Reply raw(byte[] request, int length, int capacity) {
        int n = server.serve(request, length, reply, capacity);
        if (n == 0) {
            return null;
        }
        ByteBuffer r = ByteBuffer.wrap(reply, 0, n).order(ByteOrder.LITTLE_ENDIAN);
        if (r.getInt(0) != n) {
            throw new AssertionError("out header len " + r.getInt(0) + " != " + n);
        }
        byte[] body = new byte[n - 16];
        System.arraycopy(reply, 16, body, 0, body.length);
        return new Reply(r.getInt(4), ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN));
    }

    Reply call(int opcode, long nodeid, Object... args) {
        byte[] req = request(opcode, nodeid, args(args));
        return raw(req, req.length, FuseServer.MAX_REPLY);
    }

    Reply init() {
        return call(FuseServer.INIT, 0, 7, 37, 128 * 1024, 0x7FFF_FFFF, 0, new byte[44]);
    }

    Reply lookup(long parent, String name) {
        return call(FuseServer.LOOKUP, parent, name);
    }

    /** CREATE with O_RDWR|O_EXCL, mode 0644; the reply holds entry_out then open_out (fh at 128). */
    Reply create(long parent, String name) {
        return call(FuseServer.CREATE, parent, HostFs.O_RDWR | HostFs.O_EXCL, 0100644, 0, 0, name);
    }

    Reply open(long nodeid, int flags) {
        return call(FuseServer.OPEN, nodeid, flags, 0);
    }

    Reply read(long nodeid, long fh, long offset, int size) {
        return call(FuseServer.READ, nodeid, fh, offset, size, 0, 0L, 0, 0);
    }

    Reply write(long nodeid, long fh, long offset, byte[] data) {
        return call(FuseServer.WRITE, nodeid, fh, offset, data.length, 0, 0L, 0, 0, data);
    }

    Reply mkdir(long parent, String name) {
        return call(FuseServer.MKDIR, parent, 040755, 0, name);
    }

    Reply release(long nodeid, long fh) {
        return call(FuseServer.RELEASE, nodeid, fh, 0, 0, 0L);
    }
}
