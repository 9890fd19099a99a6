package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.block.DiskImage;
import dev.ember.devices.virtio.block.VirtioBlock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * virtio-blk (VIRTIO 1.2 §5.2) under a hostile driver ({@link VirtioFuzzing}): requests of any
 * type, sector and length, over arbitrary chains, on a 16 KiB disk image that each execution
 * starts from zeros.
 */
class VirtioBlockFuzzTest {

    private static final int DISK_BYTES = 16 << 10;
    private static final Path DISK = FuzzFiles.tempDir("ember-fuzz-blk").resolve("disk.img");

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        Files.write(DISK, new byte[DISK_BYTES]);
        boolean readOnly = data.consumeBoolean();
        VirtioBlock block = new VirtioBlock("fuzz", DiskImage.open("fuzz", DISK, readOnly), line -> { });
        try (FakeDriver d = new FakeDriver(block, VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, VirtioFuzzing.NO_HOST_EVENT);
            VirtioFuzzing.assertRecovers(d, VirtioBlockFuzzTest::readsTheLastSector);
        }
    }

    /** A read of the disk's last sector (§5.2.6): 512 bytes and status VIRTIO_BLK_S_OK. */
    static void readsTheLastSector(FakeDriver d) {
        ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(VirtioBlock.VIRTIO_BLK_T_IN).putInt(0).putLong(DISK_BYTES / 512 - 1);
        long status = d.alloc(1);
        d.memory().write8(status, 0xFF);
        int head = d.post(0, Buffer.in(d.allocWith(header.array()), 16), Buffer.out(d.alloc(512), 512),
                Buffer.out(status, 1));
        d.notify(0);
        assertEquals(List.of(new Used(head, 513)), d.takeUsed(0));
        assertEquals(VirtioBlock.VIRTIO_BLK_S_OK, d.memory().readU8(status));
    }
}
