package dev.ember.net.tap;

/**
 * A snapshot of one {@link TapBackend}'s counters, all monotonic since it was opened. "Read" is
 * host to guest, "written" guest to host.
 *
 * @param framesRead     frames read from the tap and offered to the guest
 * @param framesWritten  guest frames written to the tap
 * @param dropsGuestFull frames read but dropped because the guest's device had no room
 * @param dropsHostFull  guest frames dropped because the tap's queue was full (EAGAIN, ENOBUFS)
 * @param dropsLinkDown  guest frames dropped because the interface was not up (EIO)
 * @param writeErrors    guest frames dropped for any other write failure, or longer than the bound
 */
public record TapMetrics(long framesRead, long framesWritten, long dropsGuestFull, long dropsHostFull,
                         long dropsLinkDown, long writeErrors) {
}
