package dev.ember.snapshot;

/**
 * CRC-64/XZ: the ECMA-182 polynomial {@code 0x42F0E1EBA9EA3693}, reflected, initial value and
 * final XOR all ones, as xz and Go's {@code crc64.ECMA} compute it. The check value of the
 * ASCII string {@code 123456789} is {@code 0x995DC9BBDF1939FA}.
 *
 * <p>Not thread-safe; one instance per checksum.
 */
public final class Crc64 {

    private static final long POLY_REFLECTED = 0xC96C5795D7870F42L;
    private static final long[] TABLE = new long[256];

    static {
        for (int i = 0; i < 256; i++) {
            long c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
            }
            TABLE[i] = c;
        }
    }

    private long crc = -1L;

    /** Adds {@code b[off..off+len)} to the checksum. */
    public Crc64 update(byte[] b, int off, int len) {
        long c = crc;
        for (int i = off; i < off + len; i++) {
            c = TABLE[(int) ((c ^ b[i]) & 0xFF)] ^ (c >>> 8);
        }
        crc = c;
        return this;
    }

    /** {@return the checksum of everything added so far} */
    public long value() {
        return ~crc;
    }

    /** {@return the checksum of {@code b[off..off+len)}} */
    public static long of(byte[] b, int off, int len) {
        return new Crc64().update(b, off, len).value();
    }
}
