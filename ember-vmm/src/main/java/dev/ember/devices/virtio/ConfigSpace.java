package dev.ember.devices.virtio;

import java.util.function.IntUnaryOperator;

/**
 * Reads of a device's configuration space (VIRTIO 1.2 §2.5): little-endian, any width from 1 to
 * 8 bytes at any offset, and zero for every byte outside the space, so each device only says
 * what its bytes are.
 *
 * <p><b>Guest-controlled.</b> Offset and width come from guest loads; a width outside 1..8 or a
 * negative offset reads 0, and no byte outside {@code [0, size)} is asked for.
 */
public final class ConfigSpace {

    private ConfigSpace() {
    }

    /**
     * {@return the little-endian value of {@code width} bytes at {@code offset}}
     *
     * @param size   bytes in the configuration space
     * @param byteAt the byte, 0..255, at an offset in {@code [0, size)}
     */
    public static long read(int offset, int width, int size, IntUnaryOperator byteAt) {
        if (width < 1 || width > 8 || offset < 0) {
            return 0;
        }
        long value = 0;
        for (int i = 0; i < width; i++) {
            long at = (long) offset + i;
            if (at < size) {
                value |= (long) (byteAt.applyAsInt((int) at) & 0xFF) << (8 * i);
            }
        }
        return value;
    }

    /** {@return the little-endian value of {@code width} bytes at {@code offset} of {@code config}} */
    public static long read(byte[] config, int offset, int width) {
        return read(offset, width, config.length, at -> config[at]);
    }
}
