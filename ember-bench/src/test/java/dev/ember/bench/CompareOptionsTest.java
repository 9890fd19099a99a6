package dev.ember.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompareOptionsTest {

    @TempDir
    Path dir;

    private CompareOptions parse(String... args) throws Exception {
        Path kernel = dir.resolve("Image"), initrd = dir.resolve("initramfs.cpio");
        if (!Files.exists(kernel)) {
            Files.writeString(kernel, "k");
            Files.writeString(initrd, "i");
        }
        List<String> all = new java.util.ArrayList<>(List.of("--kernel", kernel.toString(), "--initrd", initrd.toString(),
                "--ember-classpath", "cp"));
        all.addAll(List.of(args));
        return CompareOptions.parse(all.toArray(String[]::new));
    }

    @Test
    void defaultColumnsAreBothEnginesThenQemu() throws Exception {
        CompareOptions o = parse();
        assertEquals(List.of(Vmm.ember("jit"), Vmm.ember("interp"), Vmm.QEMU), o.vmms());
        assertNull(o.jitThreshold());
        assertTrue(o.emberCommand().containsAll(EngineReport.JVM_OPTIONS));
    }

    @Test
    void onlyEmberKeepsTheChosenEnginesInOrder() throws Exception {
        assertEquals(List.of(Vmm.ember("interp"), Vmm.ember("jit")), parse("--only", "ember", "--engines", "interp,jit").vmms());
        assertEquals(List.of(Vmm.QEMU), parse("--only=qemu").vmms());
    }

    @Test
    void warmupTakesSeconds() throws Exception {
        CompareOptions o = parse("--warmup", "--seconds", "10", "--jit-threshold", "0");
        assertTrue(o.warmup());
        assertEquals(10, o.warmupSeconds());
        assertEquals(0, o.jitThreshold());
    }

    @Test
    void cpuFeaturesApplyToBothSides() throws Exception {
        assertNull(parse().cpuFeatures());
        assertTrue(parse("--cpu-features", "+h").cpuFeatures().hypervisor());
        assertThrows(CompareOptions.UsageException.class, () -> parse("--cpu-features", "+q"));
    }

    @Test
    void badCombinationsAreUsageErrors() {
        assertThrows(CompareOptions.UsageException.class, () -> parse("--engines", "jit,qemu"));
        assertThrows(CompareOptions.UsageException.class, () -> parse("--engines", "jit,jit"));
        assertThrows(CompareOptions.UsageException.class, () -> parse("--seconds", "5"));
        assertThrows(CompareOptions.UsageException.class, () -> parse("--warmup", "--devices"));
        assertThrows(CompareOptions.UsageException.class, () -> parse("--engines", "interp", "--jit-threshold", "8"));
    }

    @Test
    void missingKernelIsAUsageError() {
        assertThrows(CompareOptions.UsageException.class, () -> CompareOptions.parse(new String[] {"--kernel",
                dir.resolve("none").toString()}));
    }
}
