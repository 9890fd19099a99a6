package dev.ember.server.jailer;

import java.io.ByteArrayOutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The seccomp filter the jailed VMM runs under: a classic BPF program (Linux
 * Documentation/userspace-api/seccomp_filter.rst; {@code struct sock_filter} from
 * {@code <linux/filter.h>}) that bwrap installs with {@code --seccomp FD} just before it execs the
 * VMM.
 *
 * <p>A deny-list, not an allow-list: the JVM's set of system calls changes with its version, its
 * garbage collector and its JIT, and an allow-list that misses one kills the VMM at a random
 * moment. What is denied is what an emulator that reads files, serves a Unix socket and opens TAP
 * devices never needs, and what an attacker who took over the process would reach for first:
 * <ul>
 *   <li>debugging other processes: {@code ptrace}, {@code process_vm_readv/writev}, {@code perf_event_open};</li>
 *   <li>changing the file system view: {@code mount}, {@code umount2}, {@code pivot_root},
 *       {@code chroot}, the new mount API ({@code open_tree}, {@code move_mount}, {@code fsopen}...),
 *       {@code open_by_handle_at} (a way out of a chroot), {@code name_to_handle_at};</li>
 *   <li>namespaces: {@code unshare}, {@code setns}, and {@code clone} with a {@code CLONE_NEW*} flag;
 *       {@code clone3} answers ENOSYS, so glibc falls back to {@code clone}, whose flags a filter can read;</li>
 *   <li>the kernel itself: modules, {@code kexec_*}, {@code bpf}, {@code userfaultfd} (a tool to win
 *       kernel races), keyrings, {@code reboot}, {@code swapon/off}, {@code acct}, {@code quotactl},
 *       {@code syslog}, the clock, host and domain names, {@code iopl}/{@code ioperm}, {@code vhangup}.</li>
 * </ul>
 * A denied call fails with EPERM rather than killing the process, so a JVM that probes one
 * carries on. A call made through another architecture's entry (x86-64's {@code int 0x80}, with
 * i386 numbers) or the x32 ABI is denied whole: the numbers above would not mean the same calls.
 */
public final class SeccompFilter {

    // <linux/filter.h> and <linux/bpf_common.h> opcodes.
    private static final int BPF_LD_W_ABS = 0x20, BPF_JEQ_K = 0x15, BPF_JSET_K = 0x45, BPF_JGE_K = 0x35, BPF_RET_K = 0x06;
    // <linux/seccomp.h>: struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }.
    private static final int OFFSET_NR = 0, OFFSET_ARCH = 4, OFFSET_ARG0_LOW = 16;
    private static final int RET_ALLOW = 0x7fff0000, RET_ERRNO = 0x00050000;
    private static final int EPERM = 1, ENOSYS = 38;
    /** x32 system calls on x86-64 have this bit set in their number. */
    private static final int X32_SYSCALL_BIT = 0x40000000;
    /** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET (sched.h). */
    private static final int CLONE_NEW_ANY = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

    /** One architecture's audit value and numbers: {@code arch/x86/entry/syscalls/syscall_64.tbl}, {@code include/uapi/asm-generic/unistd.h}. */
    private record Arch(int audit, int nrClone, int nrClone3, Map<String, Integer> denied) {
    }

    private static final Arch X86_64 = new Arch(0xC000003E, 56, 435, numbers(
            "ptrace 101 process_vm_readv 310 process_vm_writev 311 perf_event_open 298 "
            + "mount 165 umount2 166 pivot_root 155 chroot 161 open_tree 428 move_mount 429 fsopen 430 fsconfig 431 "
            + "fsmount 432 fspick 433 mount_setattr 442 open_by_handle_at 304 name_to_handle_at 303 "
            + "unshare 272 setns 308 "
            + "init_module 175 finit_module 313 delete_module 176 kexec_load 246 kexec_file_load 320 bpf 321 "
            + "userfaultfd 323 add_key 248 request_key 249 keyctl 250 reboot 169 swapon 167 swapoff 168 acct 163 "
            + "quotactl 179 syslog 103 settimeofday 164 clock_settime 227 adjtimex 159 clock_adjtime 305 "
            + "sethostname 170 setdomainname 171 iopl 172 ioperm 173 vhangup 153 lookup_dcookie 212"));

    private static final Arch AARCH64 = new Arch(0xC00000B7, 220, 435, numbers(
            "ptrace 117 process_vm_readv 270 process_vm_writev 271 perf_event_open 241 "
            + "mount 40 umount2 39 pivot_root 41 chroot 51 open_tree 428 move_mount 429 fsopen 430 fsconfig 431 "
            + "fsmount 432 fspick 433 mount_setattr 442 open_by_handle_at 265 name_to_handle_at 264 "
            + "unshare 97 setns 268 "
            + "init_module 105 finit_module 273 delete_module 106 kexec_load 104 kexec_file_load 294 bpf 280 "
            + "userfaultfd 282 add_key 217 request_key 218 keyctl 219 reboot 142 swapon 224 swapoff 225 acct 89 "
            + "quotactl 60 syslog 116 settimeofday 170 clock_settime 112 adjtimex 171 clock_adjtime 266 "
            + "sethostname 161 setdomainname 162 vhangup 58 lookup_dcookie 18"));

    private SeccompFilter() { }

    /** {@return the names of the system calls the filter denies on this host's architecture} */
    public static java.util.Set<String> deniedCalls() throws JailerException {
        return host().denied().keySet();
    }

    /**
     * {@return the filter for this host's architecture, as the bytes of a {@code struct sock_filter}
     * array in native (little-endian) order: what {@code bwrap --seccomp} reads}
     *
     * @throws JailerException on an architecture the jailer has no system call numbers for
     */
    public static byte[] program() throws JailerException {
        Arch arch = host();
        Program p = new Program();
        // Ten instructions of checks, one per denied call, then the three returns.
        int allow = 10 + arch.denied().size(), enosys = allow + 1, eperm = allow + 2;
        p.add(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH);
        p.jumpIf(BPF_JEQ_K, arch.audit(), 1, 0);
        p.add(BPF_RET_K, 0, 0, RET_ERRNO | EPERM);
        p.add(BPF_LD_W_ABS, 0, 0, OFFSET_NR);
        p.jumpTo(BPF_JGE_K, X32_SYSCALL_BIT, eperm);
        p.jumpTo(BPF_JEQ_K, arch.nrClone3(), enosys);
        p.jumpIf(BPF_JEQ_K, arch.nrClone(), 0, 2);
        p.add(BPF_LD_W_ABS, 0, 0, OFFSET_ARG0_LOW);
        p.jumpTo(BPF_JSET_K, CLONE_NEW_ANY, eperm);
        // After the clone check the accumulator may hold its flags: reload the number.
        p.add(BPF_LD_W_ABS, 0, 0, OFFSET_NR);
        for (int nr : arch.denied().values()) {
            p.jumpTo(BPF_JEQ_K, nr, eperm);
        }
        if (p.size() != allow) {
            throw new IllegalStateException("seccomp program layout: " + p.size() + " != " + allow);
        }
        p.add(BPF_RET_K, 0, 0, RET_ALLOW);
        p.add(BPF_RET_K, 0, 0, RET_ERRNO | ENOSYS);
        p.add(BPF_RET_K, 0, 0, RET_ERRNO | EPERM);
        return p.bytes();
    }

    private static Arch host() throws JailerException {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> X86_64;
            case "aarch64" -> AARCH64;
            default -> throw new JailerException("no seccomp filter for the architecture " + System.getProperty("os.arch"));
        };
    }

    private static Map<String, Integer> numbers(String table) {
        String[] w = table.trim().split("\\s+");
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int i = 0; i < w.length; i += 2) {
            out.put(w[i], Integer.parseInt(w[i + 1]));
        }
        return out;
    }

    /** A BPF program being written: 8-byte instructions, jumps relative to the next one. */
    private static final class Program {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        int size() {
            return out.size() / 8;
        }

        void add(int code, int jt, int jf, int k) {
            if (jt > 255 || jf > 255) {
                throw new IllegalStateException("BPF jump too far: " + Math.max(jt, jf));
            }
            out.write(code);
            out.write(code >>> 8);
            out.write(jt);
            out.write(jf);
            for (int i = 0; i < 4; i++) {
                out.write(k >>> (8 * i));
            }
        }

        /** A conditional jump with offsets {@code jt} (true) and {@code jf} (false) from the next instruction. */
        void jumpIf(int code, int k, int jt, int jf) {
            add(code, jt, jf, k);
        }

        /** A conditional jump to instruction {@code target} when true, on to the next when false. */
        void jumpTo(int code, int k, int target) {
            add(code, target - size() - 1, 0, k);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
