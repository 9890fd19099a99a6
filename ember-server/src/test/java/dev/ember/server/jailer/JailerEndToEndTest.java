package dev.ember.server.jailer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.server.api.ApiProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code ./ember jailer} as root, as a user runs it: one jailed VMM with cgroup and resource
 * limits, checked from the host (its uid, groups, capabilities, seccomp, limits, cgroup files),
 * then shown unable to open a host file outside its chroot, then booting the default guest placed
 * in its chroot and answering through the API; and bad flags found only on a real host (a cgroup
 * file the kernel does not offer).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JailerEndToEndTest {

    private static final int UID = 4242, GID = 4343;
    private static final Duration START = Duration.ofSeconds(60), BOOT = Duration.ofSeconds(90);

    private Path base;
    private JailedEmber jail;
    private ProcessHandle vmm;
    /** The cgroup files the jail was given and the hierarchy each is in, for this host's cgroup version. */
    private String memoryFile, pidsFile;
    private Path memoryCgroup, pidsCgroup;

    @BeforeAll
    void startJail() throws Exception {
        assumeTrue(Posix.geteuid() == 0, "the jailer tests need root (CI runs as root)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/bwrap")), "bubblewrap is not installed (scripts/test.sh installs it)");
        base = Files.createTempDirectory("ember-jailer-test");
        Cgroups host = Cgroups.ofHost();
        int version = host.chooseVersion(null, List.of(new CgroupSetting("memory.max", "1"), new CgroupSetting("pids.max", "1")));
        memoryFile = version == 2 ? "memory.max" : "memory.limit_in_bytes";
        pidsFile = "pids.max";
        assumeTrue(host.hierarchy(version, "memory") != null && host.hierarchy(version, "pids") != null,
                "this host has no memory and pids cgroup controllers");
        String id = "jail-e2e-" + ProcessHandle.current().pid();
        jail = JailedEmber.start(base, id, true, "--uid", Integer.toString(UID), "--gid", Integer.toString(GID),
                "--cgroup", memoryFile + "=805306368", "--cgroup", pidsFile + "=300",
                "--resource-limit", "no-file=1000", "--resource-limit", "fsize=1073741824", "--new-pid-ns");
        vmm = jail.vmm();
        memoryCgroup = host.hierarchy(version, "memory").resolve("ember").resolve(id);
        pidsCgroup = host.hierarchy(version, "pids").resolve("ember").resolve(id);
        jail.cleanUpCgroup(memoryCgroup);
        jail.cleanUpCgroup(pidsCgroup);
    }

    @AfterAll
    void stopJail() throws Exception {
        if (jail != null) {
            jail.close();
        }
        if (base != null) {
            Files.deleteIfExists(base.resolve("ember"));
            Files.deleteIfExists(base);
        }
    }

    @Test
    @Order(1)
    void vmmRunsAsTheUnprivilegedUidWithoutGroupsOrCapabilitiesUnderSeccomp() throws Exception {
        assertThat(JailedEmber.status(vmm, "Uid")).isEqualTo(UID + "\t" + UID + "\t" + UID + "\t" + UID);
        assertThat(JailedEmber.status(vmm, "Gid")).isEqualTo(GID + "\t" + GID + "\t" + GID + "\t" + GID);
        assertThat(JailedEmber.status(vmm, "Groups")).isEmpty();
        assertThat(JailedEmber.status(vmm, "CapEff")).isEqualTo("0000000000000000");
        assertThat(JailedEmber.status(vmm, "CapBnd")).isEqualTo("0000000000000000");
        assertThat(JailedEmber.status(vmm, "NoNewPrivs")).isEqualTo("1");
        assertThat(JailedEmber.status(vmm, "Seccomp")).as("2 = filter mode").isEqualTo("2");
    }

    @Test
    @Order(2)
    void vmmIsInItsCgroupWhoseLimitsAreInForce() throws Exception {
        assertThat(Files.readString(memoryCgroup.resolve(memoryFile)).trim()).isEqualTo("805306368");
        assertThat(Files.readString(pidsCgroup.resolve(pidsFile)).trim()).isEqualTo("300");
        assertThat(Files.readAllLines(memoryCgroup.resolve("cgroup.procs"))).contains(Long.toString(vmm.pid()));
        assertThat(Files.readAllLines(pidsCgroup.resolve("cgroup.procs"))).contains(Long.toString(vmm.pid()));
    }

    @Test
    @Order(3)
    void vmmHasTheResourceLimitsAndItsOwnNamespaces() throws Exception {
        List<String> limits = Files.readAllLines(Path.of("/proc/" + vmm.pid() + "/limits"));
        assertThat(limits).anySatisfy(l -> assertThat(l).matches("Max open files\\s+1000\\s+1000\\s+files\\s*"));
        assertThat(limits).anySatisfy(l -> assertThat(l).matches("Max file size\\s+1073741824\\s+1073741824\\s+bytes\\s*"));
        for (String ns : List.of("mnt", "net", "pid", "ipc", "uts")) {
            Path self = Path.of("/proc/self/ns/" + ns), jailed = Path.of("/proc/" + vmm.pid() + "/ns/" + ns);
            assertThat(Files.readSymbolicLink(jailed)).as(ns).isNotEqualTo(Files.readSymbolicLink(self));
        }
        assertThat(Files.readSymbolicLink(Path.of("/proc/" + vmm.pid() + "/root"))).isEqualTo(Path.of("/"));
    }

    @Test
    @Order(4)
    void hostFileOutsideTheChrootCannotBeOpenedThroughTheApi() throws Exception {
        Path kernel = ApiProcess.guestDir().resolve("Image");
        Path canary = Files.createTempDirectory("ember-jailer-canary");
        try {
            Files.copy(kernel, canary.resolve("Image"));
            Files.setPosixFilePermissions(canary, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            ApiProcess.Reply outside = jail.api.request("PUT", "/boot-source",
                    "{\"kernel_image_path\": \"" + canary.resolve("Image") + "\"}");
            assertThat(outside.status()).as(outside.body()).isEqualTo(400);
            assertThat(outside.body()).contains("The kernel file cannot be opened");
        } finally {
            Files.deleteIfExists(canary.resolve("Image"));
            Files.deleteIfExists(canary);
        }
    }

    @Test
    @Order(5)
    void guestPlacedInTheChrootBootsAndTheApiAnswers() throws Exception {
        for (String f : List.of("Image", "initramfs.cpio")) {
            Path inJail = Files.copy(ApiProcess.guestDir().resolve(f), jail.root().resolve(f));
            Files.setAttribute(inJail, "unix:uid", UID, LinkOption.NOFOLLOW_LINKS);
        }
        assertThat(jail.api.request("PUT", "/boot-source", "{\"kernel_image_path\": \"/Image\", "
                + "\"initrd_path\": \"/initramfs.cpio\", \"boot_args\": \"console=ttyS0\"}").status()).isEqualTo(204);
        assertThat(jail.api.request("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}").status())
                .isEqualTo(204);
        assertThat(jail.api.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status()).isEqualTo(204);
        jail.api.await("ember-guest: userspace up", BOOT);
        ApiProcess.Reply info = jail.api.request("GET", "/", null);
        assertThat(info.status()).isEqualTo(200);
        assertThat(info.body()).contains("\"state\":\"Running\"");
    }

    @Test
    void cgroupFileTheKernelDoesNotOfferIsOneLineAndLeavesNoJail() throws Exception {
        String id = "jail-bad-" + ProcessHandle.current().pid();
        try (JailedEmber bad = JailedEmber.start(base, id, false, "--uid", "4242", "--gid", "4242",
                "--cgroup", "pids.no_such_file=1")) {
            assertThat(bad.api.waitFor(START)).isEqualTo(1);
            assertThat(bad.api.output().strip()).startsWith("ember: cgroup file pids.no_such_file does not exist in ")
                    .doesNotContain("\n");
            assertThat(bad.jailDir).doesNotExist();
            Path hierarchy = Cgroups.ofHost().hierarchy(1, "pids");
            if (hierarchy != null) {
                assertThat(hierarchy.resolve("ember").resolve(id)).doesNotExist();
            }
        }
    }

    @Test
    void cgroupVersion2PutsTheVmmInTheUnifiedHierarchy() throws Exception {
        Path unified = Cgroups.ofHost().hierarchy(2, "");
        assumeTrue(unified != null, "this host has no cgroup v2 hierarchy mounted");
        String id = "jail-v2-" + ProcessHandle.current().pid();
        // cgroup.max.descendants is a core file: every v2 cgroup has it, whichever controllers the host enables.
        try (JailedEmber v2 = JailedEmber.start(base, id, true, "--uid", "4242", "--gid", "4242",
                "--cgroup-version", "2", "--cgroup", "cgroup.max.descendants=0")) {
            Path cgroup = unified.resolve("ember").resolve(id);
            v2.cleanUpCgroup(cgroup);
            assertThat(Files.readString(cgroup.resolve("cgroup.max.descendants")).trim()).isEqualTo("0");
            assertThat(Files.readAllLines(cgroup.resolve("cgroup.procs"))).contains(Long.toString(v2.vmm().pid()));
        }
    }

    @Test
    void daemonizedJailRunsInItsOwnSessionAndPrintsNothing() throws Exception {
        String id = "jail-daemon-" + ProcessHandle.current().pid();
        try (JailedEmber daemon = JailedEmber.start(base, id, true, "--uid", "4242", "--gid", "4242", "--daemonize")) {
            String stat = Files.readString(Path.of("/proc/" + daemon.vmm().pid() + "/stat"));
            // proc(5): after "(comm)", state, ppid, pgrp, session.
            String session = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3];
            assertThat(session).isEqualTo(Long.toString(daemon.api.process().pid()));
            assertThat(daemon.api.output()).isEmpty();
        }
    }

    @Test
    void killingTheJailsBwrapEndsTheVmm() throws Exception {
        String id = "jail-kill-" + ProcessHandle.current().pid();
        try (JailedEmber jailed = JailedEmber.start(base, id, true, "--uid", "4242", "--gid", "4242")) {
            ProcessHandle vmm = jailed.vmm();
            ProcessHandle bwrap = vmm.parent().orElseThrow();
            assertThat(bwrap.info().command().orElse("")).endsWith("bwrap");
            assertTrue(bwrap.destroyForcibly());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (running(vmm) && System.nanoTime() - deadline < 0) {
                Thread.sleep(50);
            }
            assertFalse(running(vmm), "the VMM outlived its jail's bwrap");
        }
    }

    /**
     * {@return whether the process runs}: a killed process whose parent died stays a zombie until
     * init reaps it, and some inits (a container's) never do, so /proc's state, not kill(pid, 0)
     */
    private static boolean running(ProcessHandle h) throws IOException {
        String s;
        try {
            s = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
        } catch (NoSuchFileException gone) {
            return false;
        }
        char state = s.charAt(s.lastIndexOf(')') + 2);   // proc(5): "pid (comm) state ..."
        return state != 'Z' && state != 'X';
    }

    @Test
    void givenNetworkNamespaceIsJoined() throws Exception {
        String name = "ember-jail-" + ProcessHandle.current().pid();
        Process add = new ProcessBuilder("ip", "netns", "add", name).redirectErrorStream(true).start();
        assumeTrue(add.waitFor() == 0, "ip netns add failed: " + new String(add.getInputStream().readAllBytes()));
        Path netns = Path.of("/var/run/netns", name);
        try (JailedEmber joined = JailedEmber.start(base, "jail-netns-" + ProcessHandle.current().pid(), true,
                "--uid", "4242", "--gid", "4242", "--netns", netns.toString())) {
            String link = Files.readSymbolicLink(Path.of("/proc/" + joined.vmm().pid() + "/ns/net")).toString();
            assertThat(link).isEqualTo("net:[" + Files.getAttribute(netns, "unix:ino") + "]");
        } finally {
            new ProcessBuilder("ip", "netns", "delete", name).start().waitFor();
        }
    }
}
