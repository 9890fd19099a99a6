package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.log.LogSink;
import dev.ember.riscv.testing.Assembler;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bare-metal mode ({@code ember run --elf}): an ELF runs in M-mode with no SBI and reports
 * through HTIF's {@code tohost}/{@code fromhost}, as ISA test suites do on Spike.
 */
class BareMetalTest {

    /** Prints {@code msg} through HTIF's console, waiting for each acknowledgement, then exits. */
    private static String program(String exitSequence) {
        return """
                _start:
                    la   s0, msg
                    la   s1, tohost
                    la   s2, fromhost
                next:
                    lbu  a0, 0(s0)
                    beqz a0, finish
                    li   t0, 0x0101000000000000     # device 1 (console), command 1 (write)
                    or   t0, t0, a0
                    sd   t0, 0(s1)
                wait:
                    ld   t1, 0(s2)                  # the host acknowledges through fromhost
                    beqz t1, wait
                    sd   zero, 0(s2)
                    addi s0, s0, 1
                    j    next
                finish:
                %s
                    sd   t0, 0(s1)
                hang:
                    j    hang
                msg:
                    .asciz "hello from htif\\n"
                    .balign 64
                    .globl tohost
                tohost:   .dword 0
                    .globl fromhost
                fromhost: .dword 0
                """.formatted(exitSequence);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
            // name                       exit sequence                                     status
            Arguments.of("pass",             "    li t0, 1",                                       0),
            Arguments.of("failing test 21",  "    li t0, (21 << 1) | 1",                           21),
            Arguments.of("illegal insn trap","    la t1, trap\n    csrw mtvec, t1\n    .word 0\ntrap:\n    li t0, (3 << 1) | 1", 3));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void reportsTheProgramsExitCodeAndConsoleOutput(String name, String exitSequence, int status, @TempDir Path tmp)
            throws Exception {
        Path elf = tmp.resolve("prog.elf");
        Files.write(elf, Assembler.assembleElf(program(exitSequence)));
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        try (VirtualMachine vm = new VirtualMachine(new VmConfig(1, 16L << 20, null, null, "", null, elf),
                console, LogSink.stream(new PrintStream(errors, true, StandardCharsets.UTF_8)))) {
            assertEquals(status, vm.run(), () -> name + ": exit status; stderr: " + errors);
        }
        assertEquals("hello from htif\n", console.toString(StandardCharsets.UTF_8));
    }
}
