package dev.ember.riscv.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Test support: turns RISC-V assembly text into a program image with the real GNU cross
 * toolchain, so instruction tests are written as assembly rather than hand-encoded words.
 *
 * <p>The recipe is fixed: {@code riscv64-linux-gnu-as -march=rv64gc_zicsr_zifencei -mno-relax},
 * then {@code riscv64-linux-gnu-ld -N -Ttext=0x80000000} (so labels resolve to their addresses at
 * {@link #RAM_BASE}, where the image is loaded), then {@code riscv64-linux-gnu-objcopy -O binary}
 * for the flat image and {@code riscv64-linux-gnu-nm} for the symbol table. Execution begins at
 * the first byte of {@code .text}; a {@code _start} label is optional (ld warns without one,
 * and the warning is ignored).
 *
 * <p>What is written is what is encoded: the source is assembled after a one-line prelude,
 * {@code .option norvc}, so {@code addi a0, zero, 5} stays the 32-bit {@code 0x00500513} rather
 * than being compressed to {@code c.li}. A test that wants 16-bit encodings says
 * {@code .option rvc}, after which {@code c.*} mnemonics are accepted and gas compresses where
 * it can. The prelude is a separate input file, so error messages keep the source's line numbers.
 *
 * <p>Results are cached by the SHA-256 of the recipe and the source, in {@code target/asm-cache/}
 * when the working directory has a {@code target} directory (as under Maven), otherwise in
 * {@code java.io.tmpdir}. Entries are published by atomic rename, so concurrent test forks may
 * share the cache; a stale or partial entry is never read.
 *
 * <p>Bare-metal C programs ({@link #compileElf}) take the same way with
 * {@code riscv64-linux-gnu-gcc} in place of {@code as}: freestanding, no C library, linked at
 * {@link #RAM_BASE} with {@code -N}, entered at {@code _start}.
 *
 * <p>The tools come from Debian's {@code binutils-riscv64-linux-gnu} and
 * {@code gcc-riscv64-linux-gnu}, which the project's test command installs. Every subprocess is
 * bounded by {@link #TIMEOUT_SECONDS}.
 *
 * <p>Thread-safe; holds no state besides the on-disk cache.
 */
public final class Assembler {

    /** The guest-physical address the image is linked for and must be loaded at. */
    public static final long RAM_BASE = 0x8000_0000L;

    /** Upper bound on each tool invocation, in seconds. */
    public static final long TIMEOUT_SECONDS = 60;

    private static final String TOOL_PREFIX = "riscv64-linux-gnu-";
    private static final List<String> AS_FLAGS = List.of("-march=rv64gc_zicsr_zifencei", "-mno-relax");
    private static final String PRELUDE = ".option norvc\n";
    // -N (omagic): no page-aligned segment holding the ELF headers below RAM, so the ELF loads as is.
    private static final List<String> LD_FLAGS = List.of("-N", "-Ttext=0x" + Long.toHexString(RAM_BASE));

    // Part of every cache key: changing the recipe must not return images built the old way.
    private static final String RECIPE = "as " + AS_FLAGS + " " + PRELUDE + " ld " + LD_FLAGS + " objcopy -O binary; nm; v1";
    private static final List<String> GCC_FLAGS = List.of("-march=rv64imac_zicsr", "-mabi=lp64", "-mcmodel=medany",
            "-ffreestanding", "-nostdlib", "-nostartfiles", "-static", "-fno-pic", "-no-pie", "-O2", "-Wall", "-Werror",
            "-Wl,-N", "-Wl,-Ttext=0x" + Long.toHexString(RAM_BASE), "-Wl,-e,_start", "-Wl,--build-id=none",
            "-Wl,--no-warn-rwx-segments");
    private static final String C_RECIPE = "gcc " + GCC_FLAGS + "; nm; v1";
    private static final List<String> LINUX_GCC_FLAGS = List.of("-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror");
    private static final String LINUX_RECIPE = "gcc " + LINUX_GCC_FLAGS + "; v1";

    private static final String BIN = ".bin";
    private static final String ELF = ".elf";
    private static final String SYMBOLS = ".nm";

    private Assembler() {}

    /** Raised when a tool rejects the source or does not finish in time; carries the tool's output. */
    public static final class AssemblyFailedException extends RuntimeException {
        @java.io.Serial
        private static final long serialVersionUID = 1L;

        AssemblyFailedException(String message) {
            super(message);
        }
    }

    /** {@return the flat image of {@code source}, to be loaded at {@link #RAM_BASE}} */
    public static byte[] assemble(String source) {
        return product(source, BIN);
    }

    /** {@return the linked ELF file of {@code source}, for loader tests} */
    public static byte[] assembleElf(String source) {
        return product(source, ELF);
    }

    /**
     * {@return the linked ELF file of the bare-metal C program {@code source}} It defines
     * {@code _start}, brings its own {@code memset} and {@code memcpy}, and uses no floating point.
     */
    public static byte[] compileElf(String source) {
        return product(C_RECIPE, source, ELF);
    }

    /**
     * {@return the static riscv64 Linux executable built from the C program {@code source}}
     * against glibc ({@code libc6-dev-riscv64-cross}), stripped, for tests that run a program of
     * their own in the default guest without adding it to the guest's image.
     */
    public static byte[] compileLinuxProgram(String source) {
        return product(LINUX_RECIPE, source, ELF);
    }

    /** {@return every symbol of the compiled C program {@code source}, as {@link #symbols} lists them} */
    public static Map<String, Long> compiledSymbols(String source) {
        return parseSymbols(product(C_RECIPE, source, SYMBOLS));
    }

    /**
     * {@return every symbol {@code nm} lists for the linked program, by name, with its
     * address} Labels are included (local ones too, except assembler-local {@code .L} names),
     * as are the symbols ld defines, such as {@code __global_pointer$}.
     */
    public static Map<String, Long> symbols(String source) {
        return parseSymbols(product(source, SYMBOLS));
    }

    private static Map<String, Long> parseSymbols(byte[] nmOutput) {
        String listing = new String(nmOutput, StandardCharsets.UTF_8);
        Map<String, Long> symbols = new TreeMap<>();
        for (String line : listing.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 3) {   // "address type name"; undefined symbols have no address
                symbols.put(fields[2], Long.parseUnsignedLong(fields[0], 16));
            }
        }
        return Collections.unmodifiableMap(symbols);
    }

    private static byte[] product(String source, String suffix) {
        return product(RECIPE, source, suffix);
    }

    private static byte[] product(String recipe, String source, String suffix) {
        String text = source.endsWith("\n") ? source : source + "\n";
        try {
            Path cache = cacheDirectory();
            String key = sha256(recipe + "\n" + text);
            Path file = cache.resolve(key + suffix);
            if (!Files.isRegularFile(file)) {
                if (recipe.equals(C_RECIPE)) {
                    buildC(text, cache, key, GCC_FLAGS, true);
                } else if (recipe.equals(LINUX_RECIPE)) {
                    buildC(text, cache, key, LINUX_GCC_FLAGS, false);
                } else {
                    build(text, cache, key);
                }
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void build(String source, Path cache, String key) throws IOException {
        requireTools("as", "ld", "objcopy", "nm");
        Path work = Files.createTempDirectory(cache, key + "-");
        try {
            Files.writeString(work.resolve("prelude.s"), PRELUDE);
            Files.writeString(work.resolve("program.s"), source);
            run(source, work, null, tool("as"), AS_FLAGS, "-o", "program.o", "prelude.s", "program.s");
            run(source, work, null, tool("ld"), LD_FLAGS, "-o", "program.elf", "program.o");
            run(source, work, null, tool("objcopy"), List.of("-O", "binary"), "program.elf", "program.bin");
            run(source, work, work.resolve("program.nm"), tool("nm"), List.of(), "program.elf");
            publish(work.resolve("program.bin"), cache.resolve(key + BIN));
            publish(work.resolve("program.elf"), cache.resolve(key + ELF));
            publish(work.resolve("program.nm"), cache.resolve(key + SYMBOLS));
        } finally {
            deleteTree(work);
        }
    }

    private static void buildC(String source, Path cache, String key, List<String> flags, boolean symbols)
            throws IOException {
        requireTools("gcc", "nm");
        Path work = Files.createTempDirectory(cache, key + "-");
        try {
            Files.writeString(work.resolve("program.c"), source);
            run(source, work, null, tool("gcc"), flags, "-o", "program.elf", "program.c");
            if (symbols) {
                run(source, work, work.resolve("program.nm"), tool("nm"), List.of(), "program.elf");
                publish(work.resolve("program.nm"), cache.resolve(key + SYMBOLS));
            }
            publish(work.resolve("program.elf"), cache.resolve(key + ELF));
        } finally {
            deleteTree(work);
        }
    }

    private static void run(String source, Path work, Path stdout, String tool, List<String> flags,
            String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(tool);
        command.addAll(flags);
        command.addAll(List.of(args));
        Path out = stdout != null ? stdout : work.resolve(tool + ".out");
        Path err = work.resolve(tool + ".err");
        Process process = new ProcessBuilder(command)
                .directory(work.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        boolean finished;
        try {
            finished = process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new AssemblyFailedException(tool + " interrupted");
        }
        if (!finished) {
            process.destroyForcibly();
            throw new AssemblyFailedException(String.join(" ", command) + " did not finish within "
                    + TIMEOUT_SECONDS + " s\n" + numbered(source));
        }
        if (process.exitValue() != 0) {
            String output = Files.readString(err) + (stdout == null ? Files.readString(out) : "");
            throw new AssemblyFailedException(String.join(" ", command) + " exited with "
                    + process.exitValue() + ":\n" + output.strip() + "\nsource:\n" + numbered(source));
        }
    }

    private static void requireTools(String... names) {
        for (String name : names) {
            if (!onPath(tool(name))) {
                throw new IllegalStateException(tool(name) + " is not on the PATH. Instruction tests"
                        + " build their programs with the GNU toolchain for RISC-V: run the project's test"
                        + " command (bash .ci/run), which installs binutils-riscv64-linux-gnu and"
                        + " gcc-riscv64-linux-gnu, or apt-get install them yourself.");
            }
        }
    }

    private static boolean onPath(String executable) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, executable))) {
                return true;
            }
        }
        return false;
    }

    private static String tool(String name) {
        return TOOL_PREFIX + name;
    }

    private static Path cacheDirectory() throws IOException {
        Path target = Path.of("target");
        Path dir = Files.isDirectory(target)
                ? target.resolve("asm-cache")
                : Path.of(System.getProperty("java.io.tmpdir"), "ember-asm-cache");
        return Files.createDirectories(dir);
    }

    // Ordering: the rename is the publication point; readers test for the final name only.
    private static void publish(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String numbered(String source) {
        String[] lines = source.split("\n", -1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length && i < 200; i++) {
            sb.append(String.format("%4d  %s%n", i + 1, lines[i]));
        }
        return sb.toString();
    }

    private static String sha256(String text) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK provides SHA-256", e);
        }
    }
}
