package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The H extension's conformance programs ({@code baremetal/h_*.S}) on QEMU, beside Ember:
 * {@code qemu-system-riscv64 -M virt -bios none -cpu rv64,h=true,sstc=true}, which starts the
 * ELF at 0x80000000 in M-mode (the programs begin with a jump to {@code _start} there, open PMP,
 * and end through the sifive,test finisher, so QEMU's exit status is the failing check's
 * number, 0 for a pass).
 *
 * <p>Where QEMU 7.2 departs from the specification, the programs are assembled with
 * {@code QEMU} defined and check QEMU's value instead ({@code CHECKQ}, {@code RECQ} and
 * {@code .ifdef QEMU} in the sources): a pass here thus confirms each deviation listed in
 * {@link #DEVIATIONS}, which the test prints. The list is also in
 * {@code src/test/resources/baremetal/README.md}, with the specification's text. hostile_h is
 * not run: a reserved hgatp MODE used with V=1 is expected to abort QEMU 7.2 (design note Q3).
 */
class QemuBareMetalTest {

    private static final String QEMU = "qemu-system-riscv64";
    private static final long TIMEOUT_SECONDS = 60;

    /** One place where QEMU 7.2 gives another answer than the specification, which Ember gives. */
    record Deviation(String program, String checks, String qemu, String spec, String section) {
        String describe() {
            return "QEMU differs at " + program + " check " + checks + ": QEMU gives " + qemu + ", the spec ("
                    + section + ") says " + spec;
        }
    }

    static final List<Deviation> DEVIATIONS = List.of(
            new Deviation("h_csr", "2", "hstatus keeps every written bit (0xFFFFFFFEFFFFFFDF)",
                    "WPRI bits read 0: 0x2007003C0", "§2.3 CSR Field Specifications, § Hypervisor Status Register"),
            new Deviation("h_csr", "10", "hcounteren holds 64 bits", "a 32-bit register (upper bits 0 on RV64)",
                    "§ Hypervisor Counter-Enable Register"),
            new Deviation("h_csr", "12", "henvcfg.STCE writable while menvcfg.STCE is 0",
                    "henvcfg.STCE read-only zero unless menvcfg.STCE", "Sstc, § Hypervisor Environment Configuration"),
            new Deviation("h_csr", "21-23", "hgatp stores the raw value: PPN[1:0], bits 59:58, MODE 1 and 15",
                    "PPN[1:0] read zero; MODE is WARL", "§ Hypervisor Guest Address Translation and Protection Register"),
            new Deviation("h_csr", "26-27", "vsstatus keeps every written bit (UXL 3, UBE, WPRI)",
                    "WPRI read 0, UXL read-only 2 here", "§ Virtual Supervisor Status Register"),
            new Deviation("h_csr", "32", "vsepc bit 0 kept", "vsepc[0] is always zero (IALIGN 16)",
                    "§ Virtual Supervisor Exception Program Counter"),
            new Deviation("h_csr", "39", "vsatp stores an unsupported MODE 15",
                    "ignored, or WARL (a legal MODE)", "§ Virtual Supervisor Address Translation and Protection Register"),
            new Deviation("h_csr", "47", "mip.VSTIP and VSEIP writable through mip",
                    "read-only aliases of hip (written through hvip)", "§ Hypervisor Interrupt Registers"),
            new Deviation("h_csr", "55", "VU-mode sstatus read: illegal (2)", "virtual instruction (22)",
                    "§ Trap Cause Codes"),
            new Deviation("h_csr", "61", "hgatp read in HS-mode under mstatus.TVM runs", "illegal instruction",
                    "§ Hypervisor Guest Address Translation and Protection Register"),
            new Deviation("h_virtinst", "7-8, 12, 15", "HFENCE, SRET, SFENCE.VMA in VU-mode: illegal (2)",
                    "virtual instruction (22)", "§ Trap Cause Codes"),
            new Deviation("h_virtinst", "14", "VS-mode SRET with mstatus.TSR: illegal", "runs: TSR affects HS only",
                    "§ Hypervisor Status Register (TSR/TVM affect only HS-mode)"),
            new Deviation("h_virtinst", "17", "VS-mode satp read with hstatus.VTVM runs", "virtual instruction (22)",
                    "§ Hypervisor Status Register (VTVM)"),
            new Deviation("h_virtinst", "18-19", "VS-mode SFENCE.VMA and satp read with mstatus.TVM: illegal",
                    "run: TVM affects HS only", "§ Hypervisor Status Register"),
            new Deviation("h_trap", "11", "an illegal instruction delegated to VS reports vscause 1",
                    "vscause 2 (only interrupts 2/6/10 become 1/5/9)", "§ Trap Entry, § hideleg"),
            new Deviation("h_trap", "14", "mstatus.GVA not cleared by a later M trap without a guest address",
                    "GVA written on every trap into M", "§ Machine Status Registers (GVA)"),
            new Deviation("h_trap", "21", "MRET with MPP M and MPV 1 sets V=1 (the next M trap shows MPV 1)",
                    "V=0 when MRET returns to M", "§ Trap Return"),
            new Deviation("h_trap", "22", "MRET to HS leaves mstatus.MPRV set", "MPRV cleared when leaving to < M",
                    "privileged ISA §3.1.6.3 (1.12)"),
            new Deviation("h_irq", "9-10", "VS-mode reads of sip / sie give 0 (vsip/vsie read from M are right)",
                    "vsip 2, vsie 0x222 (aliases of hip/hie)", "§ Virtual Supervisor Interrupt Registers"),
            new Deviation("h_irq", "16", "a new htimedelta does not re-evaluate VSTIP",
                    "VSTIP = (time + htimedelta) >= vstimecmp", "Sstc, § hip (VSTIP)"),
            new Deviation("h_irq", "17", "vstimecmp raises VSTIP with henvcfg.STCE 0",
                    "with STCE 0, hip.VSTIP is hvip.VSTIP only", "Sstc, § Hypervisor Environment Configuration"),
            new Deviation("h_gstage", "7-8", "G-stage MXR from vsstatus.MXR, not mstatus.MXR",
                    "mstatus.MXR for both stages, vsstatus.MXR for the VS-stage only",
                    "§ Guest Physical Address Translation"),
            new Deviation("h_gstage", "9", "the G-stage leaf of a VS page-table page gets A but not D when the VS "
                    + "A/D bits are written", "the implicit A/D write is a G-stage store: A and D",
                    "§ Guest Physical Address Translation"),
            new Deviation("h_gstage", "15-16, 115-116", "a G-stage fault of a VS PTE read is reported as a load "
                    + "guest-page fault (21)", "the original access type: 23 store, 20 fetch",
                    "§ Guest Physical Address Translation"),
            new Deviation("h_gstage", "17", "the VS A bit is written through a read-only G-stage page",
                    "store guest-page fault, htinst 0x3020", "§ Guest Physical Address Translation, § Transformed "
                    + "Instruction"),
            new Deviation("h_gstage", "19, 23, 26", "a GPA with its top bit (40, 49, 58) set faults: QEMU checks it "
                    + "as a sign-extended address", "only bits above 41/50/59 must be zero",
                    "§ Guest Physical Address Translation"),
            new Deviation("h_hlv", "5, 7, 9, 11, 14, 16", "an HLV/HSV page fault from HS with satp Bare is an "
                    + "access fault (5/7)", "load/store page fault (13/15)", "§ Hypervisor Virtual-Machine Load "
                    + "and Store Instructions"),
            new Deviation("h_hlv", "5, 16", "mstatus.GVA 0 after an HLV fault taken to M", "GVA 1",
                    "§ Machine Status Registers (GVA)"),
            new Deviation("h_hlv", "7, 9", "HLV ignores vsstatus.SUM (reads a U page as VS)",
                    "vsstatus.SUM applies to HLV with SPVP 1", "§ Hypervisor Virtual-Machine Load and Store"),
            new Deviation("h_hlv", "12-13", "HLVX through two stages with execute-only pages: load access fault",
                    "needs X at both stages: 12 guest-page fault 21, 13 reads", "§ Hypervisor Virtual-Machine Load "
                    + "and Store Instructions"),
            new Deviation("h_hlv", "28", "hgatp write in HS-mode under mstatus.TVM runs", "illegal instruction",
                    "§ Hypervisor Guest Address Translation and Protection Register"),
            new Deviation("h_hlv", "34", "an M-mode load with MPRV and MPV 1 at an invalid VS page: load access "
                    + "fault (5), GVA 0", "load page fault (13), GVA 1", "§ Machine Status Registers (MPRV, GVA)"),
            new Deviation("h_hlv", "35", "the same load at a G-stage-invalid page: load page fault (13)",
                    "load guest-page fault (21), mtval2 = GPA >> 2, GVA 1", "§ Guest-Page Faults"));

    static List<String> programs() {
        return List.of("h_csr", "h_trap", "h_virtinst", "h_irq", "h_gstage", "h_hlv", "h_vmid");
    }

    @ParameterizedTest(name = "{0} on QEMU")
    @MethodSource("programs")
    void programPassesOnQemuWithItsKnownDeviations(String name, @TempDir Path tmp) throws Exception {
        assumeTrue(onPath(QEMU), QEMU + " is not installed: the QEMU comparison of the H programs is skipped");
        Path elf = BareMetalProgram.loadForQemu(name).writeElf(tmp);
        Path console = tmp.resolve(name + ".console");
        Process qemu = new ProcessBuilder(QEMU, "-M", "virt", "-bios", "none", "-cpu", "rv64,h=true,sstc=true",
                "-m", "128M", "-nographic", "-monitor", "none", "-serial", "stdio", "-kernel", elf.toString())
                .redirectErrorStream(true).redirectOutput(console.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        boolean ended = qemu.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (!ended) {
            qemu.destroyForcibly().waitFor();
        }
        String output = Files.readString(console, StandardCharsets.UTF_8);
        assertTrue(ended, () -> name + " did not end on QEMU within " + TIMEOUT_SECONDS + " s; output:\n" + output);
        List<String> lines = new ArrayList<>();
        for (Deviation d : DEVIATIONS) {
            if (d.program().equals(name)) {
                lines.add(d.describe());
            }
        }
        lines.forEach(System.out::println);
        assertEquals(0, qemu.exitValue(), () -> name + " failed check " + qemu.exitValue()
                + " on QEMU (diag words: test, seen, expected, mcause, mepc, mtval, word6, word7):\n" + output);
    }

    private static boolean onPath(String executable) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, executable))) {
                return true;
            }
        }
        return false;
    }
}
