package dev.ember.firmware.fdt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FdtBuilderTest {

    private static byte[] sample() {
        FdtBuilder fdt = new FdtBuilder().bootCpuidPhys(3).reserveMemory(0x8000_0000L, 0x20_0000);
        int phandle = fdt.allocatePhandle();
        return fdt.beginNode("")
                .propertyU32("#address-cells", 2)
                .propertyU32("#size-cells", 2)
                .propertyString("compatible", "acme,board")
                .beginNode("intc@1000")
                    .propertyString("compatible", "acme,intc", "generic-intc")
                    .propertyU64("reg", 0x1000, 0x100)
                    .propertyEmpty("interrupt-controller")
                    .propertyU32("phandle", phandle)
                .endNode()
                .beginNode("dev@2000")
                    .propertyString("compatible", "acme,dev")
                    .property("blob", new byte[] {1, 2, 3})
                    .propertyU32("interrupt-parent", phandle)
                .endNode()
                .endNode()
                .finish();
    }

    @Test
    void headerDescribesTheBlob() {
        byte[] blob = sample();
        ByteBuffer b = ByteBuffer.wrap(blob);
        assertEquals(0xD00D_FEED, b.getInt(0));
        assertEquals(blob.length, b.getInt(4));
        assertEquals(17, b.getInt(20));
        assertEquals(16, b.getInt(24));
        assertEquals(3, b.getInt(28));
    }

    @Test
    void decodesToWhatWasBuilt() {
        FdtDecoder d = new FdtDecoder(sample());
        assertEquals(List.of("/", "/intc@1000", "/dev@2000"), List.copyOf(d.nodes.keySet()));
        assertEquals(1, d.reservations.size());
        assertArrayEquals(new long[] {0x8000_0000L, 0x20_0000}, d.reservations.getFirst());
        assertEquals(List.of("acme,intc", "generic-intc"), d.node("/intc@1000").strings("compatible"));
        assertArrayEquals(new int[] {0, 0x1000, 0, 0x100}, d.node("/intc@1000").u32s("reg"));
        assertEquals(0, d.node("/intc@1000").properties().get("interrupt-controller").length);
        assertArrayEquals(new byte[] {1, 2, 3}, d.node("/dev@2000").properties().get("blob"));
        assertArrayEquals(new int[] {1}, d.node("/dev@2000").u32s("interrupt-parent"));
    }

    @Test
    void propertyNamesAreStoredOnce() {
        byte[] blob = sample();
        ByteBuffer b = ByteBuffer.wrap(blob);
        String strings = new String(blob, b.getInt(12), b.getInt(32), StandardCharsets.UTF_8);
        assertEquals(List.of("#address-cells", "#size-cells", "compatible", "reg", "interrupt-controller",
                "phandle", "blob", "interrupt-parent"), List.of(strings.split("\0")));
    }

    @Test
    void dtcAcceptsTheBlob() throws Exception {
        String dts = Dtc.decompile(sample()).dts();
        assertTrue(dts.contains("/memreserve/\t0x0000000080000000 0x0000000000200000;"), dts);
        assertTrue(dts.contains("compatible = \"acme,intc\\0generic-intc\";"), dts);
        assertTrue(dts.contains("reg = <0x00 0x1000 0x00 0x100>;"), dts);
        assertTrue(dts.contains("interrupt-controller;"), dts);
        assertTrue(dts.contains("blob = [01 02 03];"), dts);
    }

    @Test
    void phandlesCountUpFromOne() {
        FdtBuilder fdt = new FdtBuilder();
        assertEquals(1, fdt.allocatePhandle());
        assertEquals(2, fdt.allocatePhandle());
        assertEquals(3, fdt.allocatePhandle());
    }

    static Stream<Arguments> misuses() {
        return Stream.of(
            arguments("finish with open node", (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("a").endNode().finish()),
            arguments("finish without root", (Consumer<FdtBuilder>) FdtBuilder::finish),
            arguments("first node not root", (Consumer<FdtBuilder>) f -> f.beginNode("a")),
            arguments("second root",       (Consumer<FdtBuilder>) f -> f.beginNode("").endNode().beginNode("")),
            arguments("endNode unopened",  (Consumer<FdtBuilder>) FdtBuilder::endNode),
            arguments("property outside node", (Consumer<FdtBuilder>) f -> f.propertyU32("a", 1)),
            arguments("property after child", (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("a").endNode().propertyU32("b", 1)),
            arguments("duplicate property", (Consumer<FdtBuilder>) f -> f.beginNode("").propertyU32("a", 1).propertyU32("a", 2)),
            arguments("duplicate child",   (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("a").endNode().beginNode("a")),
            arguments("slash in node name", (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("a/b")),
            arguments("empty node name",   (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("")),
            arguments("empty unit address", (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("a@")),
            arguments("long node name",    (Consumer<FdtBuilder>) f -> f.beginNode("").beginNode("a".repeat(32))),
            arguments("long property name", (Consumer<FdtBuilder>) f -> f.beginNode("").propertyEmpty("p".repeat(32))),
            arguments("bad property char", (Consumer<FdtBuilder>) f -> f.beginNode("").propertyEmpty("a b")),
            arguments("NUL in string",     (Consumer<FdtBuilder>) f -> f.beginNode("").propertyString("a", "x\0y")),
            arguments("empty string list", (Consumer<FdtBuilder>) f -> f.beginNode("").propertyString("a")),
            arguments("use after finish",  (Consumer<FdtBuilder>) f -> { f.beginNode("").endNode().finish(); f.finish(); }),
            arguments("zero reservation",  (Consumer<FdtBuilder>) f -> f.reserveMemory(0x1000, 0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("misuses")
    void misuseIsRejected(String name, Consumer<FdtBuilder> misuse) {
        RuntimeException e = assertThrows(RuntimeException.class, () -> misuse.accept(new FdtBuilder()), name);
        assertTrue(e instanceof IllegalStateException || e instanceof IllegalArgumentException, name + ": " + e);
    }
}
