package dev.ember.devices.virtio;

/** Feature bits shared by every device type (VIRTIO 1.2 §6). */
public final class VirtioFeatures {

    /** §6: the driver supports indirect descriptors (§2.7.5.3). */
    public static final int VIRTIO_F_RING_INDIRECT_DESC = 28;
    /** §6: used_event and avail_event suppress notifications (§2.7.7, §2.7.10). */
    public static final int VIRTIO_F_RING_EVENT_IDX = 29;
    /** §6: the modern interface; this transport offers nothing else. */
    public static final int VIRTIO_F_VERSION_1 = 32;

    /** The bits every Ember device offers. */
    public static final long TRANSPORT = 1L << VIRTIO_F_RING_INDIRECT_DESC
            | 1L << VIRTIO_F_RING_EVENT_IDX | 1L << VIRTIO_F_VERSION_1;

    private VirtioFeatures() {
    }
}
