package dev.ember.server;

import dev.ember.boot.BootException;
import dev.ember.config.DevicesConfig;
import dev.ember.config.CpuFeatures;
import dev.ember.config.EngineConfig;
import dev.ember.log.LogSink;
import dev.ember.vmm.VirtualMachine;
import dev.ember.snapshot.SnapshotException;
import dev.ember.vmm.VmConfig;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ember run}: boots one microVM with its serial console on this terminal and exits with
 * the guest's status.
 *
 * <p>With no {@code --kernel} and no {@code --elf}, it boots the default guest built by
 * {@code guest/build.sh}, found in the directory named by the {@code EMBER_GUEST_DIR}
 * environment variable (the {@code ember} launcher sets it).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Boot a RISC-V Linux kernel (or a bare-metal ELF) with the console on this terminal.%n"
                + "In an interactive terminal, Ctrl-A X quits.")
final class RunCommand implements Callable<Integer> {

    @Option(names = "--kernel", paramLabel = "FILE", description = "RISC-V Linux Image or vmlinux ELF")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "initial ramdisk (e.g. a cpio archive)")
    Path initrd;

    @Option(names = "--append", paramLabel = "CMDLINE", description = "kernel command line (default: ${DEFAULT-VALUE})",
            defaultValue = VmConfig.DEFAULT_CMDLINE)
    String append;

    @Option(names = "--vcpus", paramLabel = "N", description = "number of vCPUs, 1 to 8 (default: ${DEFAULT-VALUE})",
            defaultValue = "1")
    int vcpus;

    @Option(names = "--memory", paramLabel = "SIZE", description = "guest memory, e.g. 512M or 2G (default: ${DEFAULT-VALUE})",
            defaultValue = "512M")
    String memory;

    @Option(names = "--firmware", paramLabel = "FILE",
            description = "M-mode firmware to run first, e.g. OpenSBI fw_jump.bin; default: the built-in SBI")
    Path firmware;

    @Option(names = "--elf", paramLabel = "PROG",
            description = "run a bare-metal ELF in M-mode with HTIF (tohost/fromhost) instead of a kernel")
    Path elf;

    @Option(names = "--boot-timer",
            description = "log the time from start to the guest's first userspace write to the boot-timer device "
                    + "(0x0011_0000, as Firecracker's --boot-timer)")
    boolean bootTimer;

    @Option(names = "--engine", paramLabel = "ENGINE",
            description = "execution engine: jit (translate hot code to JVM bytecode) or interp (interpret "
                    + "everything; the reference) (default: ${DEFAULT-VALUE})")
    String engine = EngineConfig.DEFAULT.kind().apiName();

    @Option(names = "--jit-threshold", paramLabel = "N",
            description = "with --engine jit: how often a block must start before it is translated; 0 translates "
                    + "all code on its first execution (default: ${DEFAULT-VALUE})")
    int jitThreshold = EngineConfig.DEFAULT_THRESHOLD;

    @Option(names = "--cpu-features", paramLabel = "LIST",
            description = "optional ISA extensions of the harts, as NAME, +NAME or -NAME items separated by commas: "
                    + "+h (or h) gives them the hypervisor extension, so the guest kernel can run KVM (default: none)")
    String cpuFeatures = "";

    @Option(names = "--engine-stats",
            description = "when the VM stops, print the execution engine's statistics (instructions interpreted "
                    + "and translated, regions, translation time) to standard error")
    boolean engineStats;

    @Option(names = "--restore", paramLabel = "STATE,MEMORY",
            description = "instead of booting, continue the VM saved in a snapshot's state file and memory file "
                    + "(written by PUT /snapshot/create); machine and devices come from the snapshot")
    String restore;

    @CommandLine.Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (restore != null) {
            return restore();
        }
        long memoryBytes;
        try {
            memoryBytes = VmConfig.parseMemory(memory);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--memory: " + e.getMessage());
        }
        if (elf != null && (kernel != null || firmware != null || initrd != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--elf runs a bare-metal program and cannot be combined with --kernel, --initrd or --firmware");
        }
        DevicesConfig devices;
        try {
            devices = deviceOptions.toConfig();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (kernel == null && elf == null) {
            String dir = System.getenv("EMBER_GUEST_DIR");
            if (dir == null || !Files.isRegularFile(Path.of(dir, "Image"))) {
                System.err.println("ember: no --kernel given and the default guest is not built; "
                        + "run ./ember run from the repository (it builds the guest) or guest/build.sh");
                return 1;
            }
            kernel = Path.of(dir, "Image");
            try {
                DefaultGuest guest = new DefaultGuest(Path.of(dir), initrd, devices);
                initrd = guest.initrd();
                devices = guest.devices();
            } catch (IOException | IllegalArgumentException e) {
                System.err.println("ember: default guest: " + e.getMessage());
                return 1;
            }
        }
        if (jitThreshold < 0 || jitThreshold > EngineConfig.MAX_THRESHOLD) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--jit-threshold must be between 0 and " + EngineConfig.MAX_THRESHOLD + ", not " + jitThreshold);
        }
        EngineConfig engineConfig;
        try {
            engineConfig = new EngineConfig(EngineConfig.Kind.parse(engine), jitThreshold);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--engine: " + e.getMessage());
        }
        CpuFeatures features;
        try {
            features = CpuFeatures.parse(cpuFeatures);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cpu-features: " + e.getMessage());
        }
        VmConfig config;
        try {
            config = new VmConfig(vcpus, memoryBytes, kernel, initrd, append, firmware, elf, devices, bootTimer, null,
                    engineConfig, features).validate();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Terminal terminal = Terminal.open();
        VirtualMachine vm;
        try {
            vm = new VirtualMachine(config, new FileOutputStream(java.io.FileDescriptor.out), LogSink.stderr());
        } catch (BootException e) {
            terminal.restore();
            System.err.println("ember: " + e.getMessage());
            return 1;
        }
        return runOnTerminal(vm, terminal);
    }

    /** Runs {@code vm} with its console on this terminal until it stops; {@return its exit status} */
    private int runOnTerminal(VirtualMachine vm, Terminal terminal) throws InterruptedException {
        try (vm) {
            vm.attachConsoleInput(System.in, terminal.isInteractive() ? () -> vm.finish(0) : null);
            int status = vm.run();
            if (engineStats) {
                terminal.restore();
                System.err.print(vm.engineStats().describe());
            }
            return status;
        } finally {
            terminal.restore();
        }
    }

    /** {@code --restore STATE,MEMORY}: continues a snapshot with the console on this terminal. */
    private int restore() throws InterruptedException {
        String[] files = restore.split(",", -1);
        if (files.length != 2 || files[0].isEmpty() || files[1].isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--restore takes STATE,MEMORY: the snapshot's state file and memory file");
        }
        var parsed = spec.commandLine().getParseResult();
        for (String option : new String[] {"--kernel", "--initrd", "--elf", "--firmware", "--vcpus", "--memory",
                "--append", "--engine", "--jit-threshold", "--cpu-features"}) {
            if (parsed.hasMatchedOption(option)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--restore takes the machine from the snapshot and cannot be combined with " + option);
            }
        }
        if (deviceOptions.any()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--restore takes the devices from the snapshot and cannot be combined with device options");
        }
        Terminal terminal = Terminal.open();
        VirtualMachine vm;
        try {
            vm = VirtualMachine.restore(Path.of(files[0]), Path.of(files[1]), null,
                    new FileOutputStream(java.io.FileDescriptor.out), LogSink.stderr(), null);
        } catch (SnapshotException | BootException e) {
            terminal.restore();
            System.err.println("ember: cannot restore the snapshot: " + e.getMessage());
            return 1;
        }
        return runOnTerminal(vm, terminal);
    }

    /** Puts an interactive terminal in raw mode for the guest, and restores it. */
    private record Terminal(boolean isInteractive, String savedMode) {

        static Terminal open() {
            java.io.Console c = System.console();
            if (c == null || !c.isTerminal()) {
                return new Terminal(false, null);
            }
            String saved = stty("-g");
            if (saved == null) {
                return new Terminal(false, null);
            }
            stty("raw", "-echo");
            Terminal t = new Terminal(true, saved.trim());
            Runtime.getRuntime().addShutdownHook(new Thread(t::restore));
            return t;
        }

        void restore() {
            if (savedMode != null) {
                stty(savedMode);
            }
        }

        private static String stty(String... args) {
            String[] cmd = new String[args.length + 1];
            cmd[0] = "stty";
            System.arraycopy(args, 0, cmd, 1, args.length);
            try {
                Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String out = new String(p.getInputStream().readAllBytes());
                return p.waitFor() == 0 ? out : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }
}
