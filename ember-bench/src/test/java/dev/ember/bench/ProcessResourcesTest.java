package dev.ember.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the leak check counts: an opened file, a started thread, a big mapping each show up, and are named. */
class ProcessResourcesTest {

    @TempDir
    Path dir;

    @Test
    void anOpenFileCountsAsADescriptorAndIsNamedUntilClosed() throws Exception {
        Path file = Files.writeString(dir.resolve("held.txt"), "x");
        ProcessResources before = ProcessResources.sample();
        List<String> then = ProcessResources.inventory();
        try (FileChannel f = FileChannel.open(file, StandardOpenOption.READ)) {
            assertEquals(before.fds() + 1, ProcessResources.sample().fds());
            assertTrue(ProcessResources.added(then, ProcessResources.inventory()).contains("fd -> " + file));
        }
        assertEquals(before.fds(), ProcessResources.sample().fds());
    }

    @Test
    void aLiveThreadIsCountedAndNamed() throws Exception {
        int before = ProcessResources.sample().threads();
        List<String> then = ProcessResources.inventory();
        CountDownLatch release = new CountDownLatch(1);
        Thread t = Thread.ofPlatform().name("held-thread").start(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            assertEquals(before + 1, ProcessResources.sample().threads());
            assertEquals(List.of("thread held-thread"), ProcessResources.added(then, ProcessResources.inventory())
                    .stream().filter(i -> i.startsWith("thread ")).toList());
        } finally {
            release.countDown();
            t.join();
        }
    }

    @Test
    void aMappedFileOfGuestMemorySizeCountsAsABigMapping() throws Exception {
        Path file = dir.resolve("ram");
        try (FileChannel f = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.SPARSE);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            long before = ProcessResources.sample().bigMapBytes();
            f.map(FileChannel.MapMode.READ_WRITE, 0, 96L << 20, arena);
            assertEquals(before + (96L << 20), ProcessResources.sample().bigMapBytes());
        }
    }

    @Test
    void addedCountsRepeats() {
        assertEquals(List.of("fd -> pipe", "thread a"),
                ProcessResources.added(List.of("fd -> pipe", "thread b"), List.of("thread a", "fd -> pipe", "fd -> pipe", "thread b")));
    }
}
