package dev.ember.devices.virtio.block;

/**
 * A drive's backing file cannot be used: it is missing, not a regular file, unreadable, not
 * writable for a read-write drive, too small to hold a sector, or locked by another user.
 *
 * <p>The message is one line meant for the user, naming the drive and the file, e.g.
 * {@code drive rootfs: cannot open /x.img: no such file}; the command line prints it as
 * {@code ember: <message>} and exits before the guest starts.
 */
public final class DiskImageException extends Exception {

    public DiskImageException(String message) {
        super(message);
    }

    public DiskImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
