package dev.ember.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link CodePages}: the writes that must reach the engines' code, and those that must not.
 * A recording listener stands for the engines; a fake store TLB stands for another hart.
 */
class CodePagesTest {

    private static final long BASE = 0x8000_0000L;

    private GuestMemory ram;
    private CodePages pages;
    private final List<String> dropped = new ArrayList<>();
    /** Pages the fake engine holds code of; ranges of that code as [from, to) within the page. */
    private final List<long[]> code = new ArrayList<>();

    private final CodePages.Listener engine = new CodePages.Listener() {
        @Override
        public boolean codeWritten(long pageIndex, int from, int to) {
            boolean any = code.removeIf(c -> c[0] == pageIndex && from < c[2] && c[1] < to);
            if (any) {
                dropped.add(pageIndex + ":" + from + "-" + to);
            }
            return any;
        }

        @Override
        public boolean holdsCode(long pageIndex) {
            return code.stream().anyMatch(c -> c[0] == pageIndex);
        }
    };

    @BeforeEach
    void setUp() {
        ram = GuestMemory.allocate(BASE, 1 << 20);
        pages = ram.codePages();
        pages.addListener(engine);
    }

    @AfterEach
    void tearDown() {
        ram.close();
    }

    private void holdCode(long page, int from, int to) {
        pages.markCode(page, null);
        code.add(new long[] {page, from, to});
    }

    @Test
    void aWriteOverlappingCodeDropsItAndOneBesideItDoesNot() {
        holdCode(3, 0x100, 0x140);
        ram.write32(BASE + 3 * 4096 + 0x200, 7);
        assertEquals(List.of(), dropped, "data beside the code");
        assertTrue(pages.isCode(3), "the page still holds code, so its stores stay on the slow path");
        ram.write32(BASE + 3 * 4096 + 0x13E, 7);
        assertEquals(List.of("3:318-322"), dropped);
        assertFalse(pages.isCode(3), "no code left on the page");
    }

    @Test
    void bulkWritesDiscardsAndRawWritesAllReachTheEngine() {
        holdCode(1, 0, 16);
        holdCode(2, 4000, 4096);
        holdCode(5, 8, 12);
        ram.write(BASE + 4096 - 4, new byte[8]);                  // a boot image or SBI write across pages 0 and 1
        ram.discard(BASE + 2 * 4096, 4096);                      // the balloon, or a reboot
        ram.segment().set(GuestMemory.U32, 5 * 4096 + 8, 1);     // device DMA through the segment...
        ram.written(BASE + 5 * 4096 + 8, 4);                     // ...reported afterwards
        assertEquals(List.of("1:0-4", "2:0-4096", "5:8-12"), dropped);
    }

    @Test
    void anotherHartsStoreTlbEntryIsDroppedAndMakesThePageSuspectUntilFenceI() {
        boolean[] otherHartHadEntry = {true};
        CodePages.WriteCache otherHart = page -> {
            boolean had = otherHartHadEntry[0];
            otherHartHadEntry[0] = false;
            return had;
        };
        pages.addWriteCache(otherHart);
        holdCode(4, 0, 64);
        assertFalse(otherHartHadEntry[0], "marking dropped the other hart's entry");
        assertEquals(List.of(), dropped);
        pages.fenceI();
        assertEquals(List.of("4:0-4096"), dropped, "its store may have raced with the read: FENCE.I drops the page");
        pages.fenceI();
        assertEquals(1, dropped.size(), "only once");
    }

    @Test
    void theCallingHartsOwnEntryDoesNotMakeThePageSuspect() {
        CodePages.WriteCache self = page -> true;
        pages.addWriteCache(self);
        pages.markCode(6, self);
        code.add(new long[] {6, 0, 64});
        pages.fenceI();
        assertEquals(List.of(), dropped);
    }
}
