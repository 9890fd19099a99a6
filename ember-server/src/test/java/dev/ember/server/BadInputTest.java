package dev.ember.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wrong or hostile inputs to {@code ember run}: each gets a single line naming the problem and
 * a non-zero exit status, before any guest code runs, never a stack trace.
 */
class BadInputTest {

    @TempDir
    static Path tmp;

    /** Holds a loopback port for the "forwarded port in use" case. */
    private static java.net.ServerSocket busyPort;

    @org.junit.jupiter.api.AfterAll
    static void releasePort() throws java.io.IOException {
        if (busyPort != null) {
            busyPort.close();
        }
    }

    static Stream<Arguments> cases() throws Exception {
        Path image = EmberProcess.guestDir().resolve("Image");
        Path truncated = tmp.resolve("truncated-Image");
        Files.write(truncated, Arrays.copyOf(Files.readAllBytes(image), 40));
        Path empty = tmp.resolve("empty");
        Files.write(empty, new byte[0]);
        Path garbage = tmp.resolve("garbage");
        Files.write(garbage, new byte[4096]);
        Path bigInitrd = tmp.resolve("big-initrd");
        Files.write(bigInitrd, new byte[24 << 20]);
        Path x86 = Path.of("/bin/true");
        String k = image.toString();
        busyPort = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
        int busy = busyPort.getLocalPort();
        Path disk = tmp.resolve("disk.img");
        Files.write(disk, new byte[4096]);
        return Stream.of(
            // name                       args                                                       status  message
            arguments("missing kernel",      new String[] {"--kernel", "/nonexistent/Image"},                1, "kernel /nonexistent/Image does not exist"),
            arguments("kernel is a dir",     new String[] {"--kernel", tmp.toString()},                      1, "is a directory"),
            arguments("truncated kernel",    new String[] {"--kernel", truncated.toString()},                1, "is truncated"),
            arguments("empty kernel",        new String[] {"--kernel", empty.toString()},                    1, "is truncated"),
            arguments("not a kernel",        new String[] {"--kernel", garbage.toString()},                  1, "is not a RISC-V Linux Image or ELF"),
            arguments("x86-64 ELF kernel",   new String[] {"--kernel", x86.toString()},                      1, "x86-64"),
            arguments("x86-64 ELF program",  new String[] {"--elf", x86.toString()},                         1, "not RISC-V"),
            arguments("missing initrd",      new String[] {"--kernel", k, "--initrd", "/nonexistent/initrd"}, 1, "initrd /nonexistent/initrd does not exist"),
            arguments("initrd too big",      new String[] {"--kernel", k, "--initrd", bigInitrd.toString(), "--memory", "24M"}, 1, "does not fit"),
            arguments("memory not a size",   new String[] {"--kernel", k, "--memory", "lots"},               2, "not a number"),
            arguments("memory too small",    new String[] {"--kernel", k, "--memory", "1M"},                 2, "out of range"),
            arguments("memory too large",    new String[] {"--kernel", k, "--memory", "100G"},               2, "out of range"),
            arguments("zero vcpus",          new String[] {"--kernel", k, "--vcpus", "0"},                   2, "--vcpus must be between 1 and 8"),
            arguments("vcpus not a number",  new String[] {"--kernel", k, "--vcpus", "four"},                2, "four"),
            arguments("unknown option",      new String[] {"--kernal", k},                                   2, "--kernal"),
            arguments("missing firmware",    new String[] {"--kernel", k, "--firmware", "/nonexistent/fw.bin"}, 1, "firmware /nonexistent/fw.bin does not exist"),
            arguments("elf with kernel",     new String[] {"--kernel", k, "--elf", x86.toString()},           2, "cannot be combined"),
            arguments("missing drive image", new String[] {"--kernel", k, "--drive", "path=/nonexistent/disk.img"}, 1, "/nonexistent/disk.img"),
            arguments("drive is a dir",      new String[] {"--kernel", k, "--drive", "path=" + tmp},         1, "directory"),
            arguments("empty drive image",   new String[] {"--kernel", k, "--drive", "path=" + empty},       1, "empty"),
            arguments("drive spec unknown",  new String[] {"--kernel", k, "--drive", "path=" + disk + ",cache=none"}, 2, "unknown setting 'cache'"),
            arguments("two root drives",     new String[] {"--kernel", k, "--drive", disk + ",root", "--drive", disk + ",root,id=b"}, 2, "only one drive"),
            arguments("missing tap",         new String[] {"--kernel", k, "--net", "tap=embernotap9"},      1, "embernotap9: no such network interface"),
            arguments("forwarded port busy", new String[] {"--kernel", k, "--net", "user,hostfwd=tcp::" + busy + "-:80"}, 1, "in use"),
            arguments("bad forward",         new String[] {"--kernel", k, "--net", "user,hostfwd=tcp::99999-:80"}, 2, "hostfwd"),
            arguments("bad mac",             new String[] {"--kernel", k, "--net", "user,mac=01:02:03:04:05:06"}, 2, "multicast"),
            arguments("vsock socket dir",    new String[] {"--kernel", k, "--vsock", "cid=3,uds=/nonexistent/dir/v.sock"}, 1, "/nonexistent/dir/v.sock"),
            arguments("vsock reserved cid",  new String[] {"--kernel", k, "--vsock", "cid=2,uds=" + tmp.resolve("v.sock")}, 2, "CID"),
            arguments("share path missing",  new String[] {"--kernel", k, "--share", "/nonexistent/dir,tag=data"}, 2, "/nonexistent/dir does not exist"),
            arguments("share path a file",   new String[] {"--kernel", k, "--share", disk + ",tag=data"},     2, "is not a directory"),
            arguments("share without tag",   new String[] {"--kernel", k, "--share", tmp.toString()},        2, "needs tag=NAME"),
            arguments("share tag too long",  new String[] {"--kernel", k, "--share", tmp + ",tag=" + "t".repeat(37)}, 2, "invalid share tag"),
            arguments("balloon not a size",  new String[] {"--kernel", k, "--balloon", "big"},              2, "--balloon big"));
    }

    private static Arguments arguments(String name, String[] args, int status, String message) {
        return Arguments.of(name, args, status, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void answersWithOneLineAndNonZeroStatus(String name, String[] args, int status, String message) throws Exception {
        String[] all = new String[args.length + 1];
        all[0] = "run";
        System.arraycopy(args, 0, all, 1, args.length);
        try (EmberProcess ember = EmberProcess.start(all)) {
            int exit = ember.waitFor(Duration.ofSeconds(60));
            String out = ember.output().strip();
            assertEquals(status, exit, () -> name + ": exit status; output: " + out);
            assertEquals(1, out.lines().count(), () -> name + ": expected one line, got:\n" + out);
            assertTrue(out.startsWith("ember: "), () -> name + ": " + out);
            assertTrue(out.contains(message), () -> name + ": expected '" + message + "' in: " + out);
            assertFalse(out.contains("Exception") || out.contains("\tat "), () -> name + ": stack trace: " + out);
        }
    }
}
