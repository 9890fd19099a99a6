package dev.ember.devices.virtio.balloon;

/**
 * The memory statistics a balloon driver reports (VIRTIO 1.2 §5.5.6.3), by tag. Memory amounts
 * are in bytes, the others are counts since the guest booted.
 */
public enum VirtioBalloonStat {
    /** VIRTIO_BALLOON_S_SWAP_IN: memory swapped in, bytes. */
    SWAP_IN(0, "swap_in"),
    /** VIRTIO_BALLOON_S_SWAP_OUT: memory swapped out, bytes. */
    SWAP_OUT(1, "swap_out"),
    /** VIRTIO_BALLOON_S_MAJFLT: major page faults. */
    MAJFLT(2, "major_faults"),
    /** VIRTIO_BALLOON_S_MINFLT: minor page faults. */
    MINFLT(3, "minor_faults"),
    /** VIRTIO_BALLOON_S_MEMFREE: memory wholly unused, bytes. */
    MEMFREE(4, "free_memory"),
    /** VIRTIO_BALLOON_S_MEMTOT: memory the guest can use, bytes. */
    MEMTOT(5, "total_memory"),
    /** VIRTIO_BALLOON_S_AVAIL: memory available for new work without swapping, bytes (estimate). */
    AVAIL(6, "available_memory"),
    /** VIRTIO_BALLOON_S_CACHES: memory in file caches that can be reclaimed, bytes. */
    CACHES(7, "disk_caches"),
    /** VIRTIO_BALLOON_S_HTLB_PGALLOC: successful huge page allocations. */
    HTLB_PGALLOC(8, "hugetlb_allocations"),
    /** VIRTIO_BALLOON_S_HTLB_PGFAIL: failed huge page allocations. */
    HTLB_PGFAIL(9, "hugetlb_failures");

    private static final VirtioBalloonStat[] BY_TAG = values();

    private final int tag;
    private final String apiName;

    VirtioBalloonStat(int tag, String apiName) {
        this.tag = tag;
        this.apiName = apiName;
    }

    /** {@return the le16 tag on the wire} */
    public int tag() {
        return tag;
    }

    /** {@return the field name in Firecracker's {@code GET /balloon/statistics} answer} */
    public String apiName() {
        return apiName;
    }

    /** {@return the statistic with wire tag {@code tag}, or null for a tag this device does not know} */
    public static VirtioBalloonStat ofTag(int tag) {
        return tag >= 0 && tag < BY_TAG.length ? BY_TAG[tag] : null;
    }
}
