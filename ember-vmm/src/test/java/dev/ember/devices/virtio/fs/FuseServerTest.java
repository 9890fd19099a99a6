package dev.ember.devices.virtio.fs;

import static dev.ember.devices.virtio.fs.FuseServer.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.fs.FuseClient.Reply;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FUSE server (Linux FUSE protocol) against a hostile client: every escape attempt is
 * refused, and a canary file and directory outside the share prove nothing there was read or
 * written.
 */
class FuseServerTest {

    private static final long ROOT = 1;
    private static final String SECRET = "SECRET-OUTSIDE-THE-SHARE";

    @TempDir
    Path temp;
    private Path share;
    private Path outside;
    private Path canary;
    private FileTime canaryMtime;
    private FileTime canaryAtime;
    private List<String> outsideListing;
    private FuseServer server;
    private FuseClient fuse;

    @BeforeEach
    void setUp() throws Exception {
        share = Files.createDirectory(temp.resolve("share"));
        outside = Files.createDirectory(temp.resolve("outside"));
        canary = Files.writeString(outside.resolve("canary"), SECRET);
        // A past time, so any access (even under relatime) would move it.
        Files.setLastModifiedTime(canary, FileTime.fromMillis(1_000_000_000_000L));
        Files.setAttribute(canary, "lastAccessTime", FileTime.fromMillis(1_000_000_000_000L));
        BasicFileAttributes a = Files.readAttributes(canary, BasicFileAttributes.class);
        canaryMtime = a.lastModifiedTime();
        canaryAtime = a.lastAccessTime();
        outsideListing = listing(outside);
        server = new FuseServer(share, false, 64, 8);
        fuse = new FuseClient(server);
        assertEquals(0, fuse.init().error());
    }

    @AfterEach
    void nothingOutsideWasTouched() throws Exception {
        server.close();
        BasicFileAttributes a = Files.readAttributes(canary, BasicFileAttributes.class);
        assertEquals(canaryMtime, a.lastModifiedTime());
        assertEquals(canaryAtime, a.lastAccessTime(), "the canary was not read");
        assertEquals(SECRET, Files.readString(canary));
        assertEquals(outsideListing, listing(outside));
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static String text(Reply r) {
        return new String(r.bytes(), StandardCharsets.UTF_8);
    }

    // ---- the protocol ----------------------------------------------------------------------

    @Test
    void initAnswersVersion731AndTheBoundsOfReadsAndWrites() throws Exception {
        try (FuseServer fresh = new FuseServer(share, false)) {
            Reply r = new FuseClient(fresh).init();
            assertEquals(0, r.error());
            assertEquals(7, r.u32(0));
            assertEquals(31, r.u32(4));
            assertEquals(MAX_WRITE, r.u32(20));
            assertEquals(MAX_WRITE / 4096, r.body().getShort(28));
            assertEquals(FUSE_MAX_PAGES, r.u32(12) & FUSE_MAX_PAGES);
        }
    }

    @Test
    void requestsBeforeInitAreRefused() throws Exception {
        try (FuseServer fresh = new FuseServer(share, false)) {
            assertEquals(-HostFs.EIO, new FuseClient(fresh).lookup(ROOT, "x").error());
        }
    }

    @Test
    void createWriteReadAndGetattrRoundTripThroughTheHostFile() throws Exception {
        Reply c = fuse.create(ROOT, "hello.txt");
        assertEquals(0, c.error());
        long node = c.nodeid();
        long fh = c.u64(128);
        byte[] data = "hello, share".getBytes(StandardCharsets.UTF_8);
        Reply w = fuse.write(node, fh, 0, data);
        assertEquals(0, w.error());
        assertEquals(data.length, w.u32(0));
        assertEquals("hello, share", Files.readString(share.resolve("hello.txt")));

        Reply r = fuse.read(node, fh, 7, 100);
        assertEquals("share", text(r));
        assertEquals(data.length, fuse.call(GETATTR, node, 0, 0, 0L).attrSize());
        assertEquals(0, fuse.release(node, fh).error());
        assertEquals(0, server.handleCount());
    }

    @Test
    void lookupOfOneFileThroughTwoNamesIsOneNode() throws Exception {
        Files.writeString(share.resolve("a"), "x");
        Files.createLink(share.resolve("b"), share.resolve("a"));
        assertEquals(fuse.lookup(ROOT, "a").nodeid(), fuse.lookup(ROOT, "b").nodeid());
    }

    @Test
    void forgetDropsTheNodeWhenItsLookupsAreGone() throws Exception {
        Files.writeString(share.resolve("a"), "x");
        long node = fuse.lookup(ROOT, "a").nodeid();
        fuse.lookup(ROOT, "a");
        assertEquals(2, server.inodeCount());
        assertNull(fuse.call(FORGET, node, 1L));
        assertEquals(2, server.inodeCount());
        assertNull(fuse.call(BATCH_FORGET, 0, 1, 0, node, 1L));
        assertEquals(1, server.inodeCount());
        assertEquals(-HostFs.ENOENT, fuse.call(GETATTR, node, 0, 0, 0L).error());
    }

    @Test
    void mkdirSymlinkLinkRenameUnlinkAndRmdirChangeTheHostDirectory() throws Exception {
        long dir = fuse.mkdir(ROOT, "d").nodeid();
        assertTrue(Files.isDirectory(share.resolve("d")));
        Reply s = fuse.call(SYMLINK, dir, "ln", "../target");
        assertEquals(0, s.error());
        assertEquals("../target", Files.readSymbolicLink(share.resolve("d/ln")).toString());
        assertEquals("../target", text(fuse.call(READLINK, s.nodeid())));

        long file = fuse.create(ROOT, "f").nodeid();
        assertEquals(0, fuse.call(LINK, dir, file, "hard").error());
        assertEquals(2, (int) Files.getAttribute(share.resolve("f"), "unix:nlink"));
        assertEquals(0, fuse.call(RENAME, ROOT, dir, "f", "moved").error());
        assertTrue(Files.exists(share.resolve("d/moved")));
        assertEquals(-HostFs.EEXIST, fuse.call(RENAME2, dir, dir, 1, 0, "moved", "hard").error());
        assertEquals(0, fuse.call(UNLINK, dir, "moved").error());
        assertEquals(0, fuse.call(UNLINK, dir, "hard").error());
        assertEquals(0, fuse.call(UNLINK, dir, "ln").error());
        assertEquals(0, fuse.call(RMDIR, ROOT, "d").error());
        assertEquals(List.of(), listing(share));
    }

    @Test
    void readdirListsEveryNameAcrossSeveralCalls() throws Exception {
        for (int i = 0; i < 300; i++) {
            Files.writeString(share.resolve("file-with-a-longish-name-" + i), "");
        }
        long fh = fuse.call(OPENDIR, ROOT, 0, 0).u64(0);
        java.util.Set<String> names = new java.util.TreeSet<>();
        long offset = 0;
        int calls = 0;
        while (true) {
            Reply r = fuse.call(READDIR, ROOT, fh, offset, 4096, 0, 0L, 0, 0);
            assertEquals(0, r.error());
            if (r.length() == 0) {
                break;
            }
            calls++;
            for (int at = 0; at < r.length(); ) {
                int len = r.u32(at + 16);
                names.add(new String(r.bytes(), at + 24, len, StandardCharsets.UTF_8));
                offset = r.u64(at + 8);
                at += (24 + len + 7) & ~7;
            }
        }
        assertTrue(calls > 1);
        assertEquals(302, names.size());   // with . and ..
        assertEquals(0, fuse.call(RELEASEDIR, ROOT, fh, 0, 0, 0L).error());
    }

    @Test
    void setattrTruncatesChangesModeAndTimes() throws Exception {
        Files.writeString(share.resolve("f"), "0123456789");
        long node = fuse.lookup(ROOT, "f").nodeid();
        Reply r = fuse.call(SETATTR, node, FATTR_SIZE | FATTR_MODE | FATTR_MTIME, 0, 0L, 4L, 0L, 0L, 1_500_000_000L, 0L,
                0, 0, 0, 0600, 0, 0, 0, 0);
        assertEquals(0, r.error());
        assertEquals(4, r.attrSize());
        assertEquals("0123", Files.readString(share.resolve("f")));
        assertEquals(0100600, r.attrMode());
        assertEquals(FileTime.fromMillis(1_500_000_000_000L), Files.getLastModifiedTime(share.resolve("f")));
    }

    @Test
    void userExtendedAttributesAreStoredAndOthersAreRefused() throws Exception {
        long node = fuse.create(ROOT, "x").nodeid();
        Reply set = fuse.call(SETXATTR, node, 5, 0, "user.k", "value".getBytes(StandardCharsets.UTF_8));
        org.junit.jupiter.api.Assumptions.assumeTrue(set.error() != -HostFs.EOPNOTSUPP, "host file system has no user xattrs");
        assertEquals(0, set.error());
        assertEquals("value", text(fuse.call(GETXATTR, node, 100, 0, "user.k")));
        assertEquals(5, fuse.call(GETXATTR, node, 0, 0, "user.k").u32(0));
        assertEquals("user.k\0", text(fuse.call(LISTXATTR, node, 100, 0)));
        assertEquals(-HostFs.EOPNOTSUPP, fuse.call(SETXATTR, node, 1, 0, "trusted.k", new byte[] {1}).error());
        assertEquals(0, fuse.call(REMOVEXATTR, node, "user.k").error());
    }

    // ---- hostile requests ------------------------------------------------------------------

    @Test
    void namesThatAreNotOneComponentAreRefused() {
        for (String name : List.of("", ".", "..", "a/b", "../outside", "/etc")) {
            assertEquals(-HostFs.EINVAL, fuse.lookup(ROOT, name).error(), name);
            assertEquals(-HostFs.EINVAL, fuse.mkdir(ROOT, name).error(), name);
            assertEquals(-HostFs.EINVAL, fuse.create(ROOT, name).error(), name);
        }
        assertEquals(-HostFs.ENAMETOOLONG, fuse.lookup(ROOT, "n".repeat(256)).error());
        assertEquals(-HostFs.ENAMETOOLONG, fuse.create(ROOT, "n".repeat(10_000)).error());
        assertEquals(-HostFs.EINVAL, fuse.call(LOOKUP, ROOT, "a".getBytes(StandardCharsets.UTF_8)).error(), "no NUL");
    }

    @Test
    void symlinksPlantedInTheShareAreNeverFollowedByTheHost() throws Exception {
        Files.createSymbolicLink(share.resolve("etc"), Path.of("/etc"));
        Files.createSymbolicLink(share.resolve("up"), Path.of(".."));
        Files.createSymbolicLink(share.resolve("abs"), outside);
        Files.createSymbolicLink(share.resolve("file"), canary);
        for (String link : List.of("etc", "up", "abs", "file")) {
            Reply r = fuse.lookup(ROOT, link);
            assertEquals(0, r.error());
            assertEquals(HostFs.S_IFLNK, r.entryMode() & HostFs.S_IFMT, link + " is the link itself");
            long node = r.nodeid();
            assertEquals(-HostFs.ENOTDIR, fuse.lookup(node, "canary").error(), link);
            assertEquals(-HostFs.ENOTDIR, fuse.lookup(node, "passwd").error(), link);
            assertEquals(-HostFs.ENXIO, fuse.open(node, HostFs.O_RDONLY).error(), link);
            assertEquals(-HostFs.ENOTDIR, fuse.call(OPENDIR, node, 0, 0).error(), link);
            assertEquals(-HostFs.ENOTDIR, fuse.mkdir(node, "x").error(), link);
            assertEquals(-HostFs.ENOTDIR, fuse.create(node, "x").error(), link);
            // SETATTR on a link changes the link, never its target.
            fuse.call(SETATTR, node, FATTR_MTIME | FATTR_ATIME, 0, 0L, 0L, 0L, 5L, 5L, 0L, 0, 0, 0, 0, 0, 0, 0, 0);
        }
        assertEquals(-HostFs.EEXIST, fuse.create(ROOT, "file").error());
        assertEquals(-HostFs.ELOOP, fuse.call(CREATE, ROOT, HostFs.O_RDWR | HostFs.O_TRUNC, 0644, 0, 0, "file").error());
    }

    @Test
    void guestSymlinksAndHardLinksCannotReachOutside() throws Exception {
        long link = fuse.call(SYMLINK, ROOT, "out", outside.resolve("canary").toString()).nodeid();
        // A hard link of the symlink is a second name for the link, not for its target.
        assertEquals(0, fuse.call(LINK, ROOT, link, "hard").error());
        assertTrue(Files.isSymbolicLink(share.resolve("hard")));
        assertEquals(-HostFs.ENXIO, fuse.open(fuse.lookup(ROOT, "hard").nodeid(), HostFs.O_RDWR).error());
        assertEquals(-HostFs.ENOENT, fuse.call(LINK, ROOT, 999_999L, "x").error());
        assertEquals(-HostFs.ENOENT, fuse.call(RENAME, ROOT, 999_999L, "out", "x").error());
    }

    @Test
    void deviceNodesCannotBeMade() {
        assertEquals(-HostFs.EPERM, fuse.call(MKNOD, ROOT, 0020644, (1 << 8) | 1, 0, 0, "mem").error());
        assertEquals(-HostFs.EPERM, fuse.call(MKNOD, ROOT, 0060644, (8 << 8), 0, 0, "sda").error());
        assertEquals(0, fuse.call(MKNOD, ROOT, 0010644, 0, 0, 0, "fifo").error());
        assertEquals(-HostFs.ENXIO, fuse.open(fuse.lookup(ROOT, "fifo").nodeid(), HostFs.O_RDONLY).error());
    }

    @Test
    void aDirectorySwappedForASymlinkWhileTheGuestWalksItNeverLeadsOutside() throws Exception {
        Path dir = share.resolve("d");
        Files.createDirectory(dir);
        Files.writeString(dir.resolve("canary"), "inside");
        AtomicBoolean stop = new AtomicBoolean();
        Thread swapper = new Thread(() -> {
            Path aside = share.resolve("d.aside");
            while (!stop.get()) {
                try {
                    Files.move(dir, aside);
                    Files.createSymbolicLink(dir, outside);
                    Files.delete(dir);
                    Files.move(aside, dir);
                } catch (Exception e) {
                    // A step lost the race with the server: try again.
                }
            }
        });
        swapper.start();
        int insideReads = 0;
        try {
            for (int i = 0; i < 3000; i++) {
                Reply d = fuse.lookup(ROOT, "d");
                if (d.error() != 0) {
                    continue;
                }
                Reply c = fuse.lookup(d.nodeid(), "canary");
                if (c.error() == 0) {
                    Reply o = fuse.open(c.nodeid(), HostFs.O_RDONLY);
                    if (o.error() == 0) {
                        String got = text(fuse.read(c.nodeid(), o.u64(0), 0, 100));
                        assertNotEquals(SECRET, got);
                        insideReads += got.equals("inside") ? 1 : 0;
                        fuse.release(c.nodeid(), o.u64(0));
                    }
                    fuse.call(FORGET, c.nodeid(), 1L);
                }
                fuse.call(FORGET, d.nodeid(), 1L);
            }
        } finally {
            stop.set(true);
            swapper.join();
        }
        assertTrue(insideReads > 0, "the race let some lookups through the real directory");
    }

    @Test
    void aHugeReadIsCutToMaxWrite() throws Exception {
        Files.write(share.resolve("big"), new byte[MAX_WRITE * 2]);
        long node = fuse.lookup(ROOT, "big").nodeid();
        long fh = fuse.open(node, HostFs.O_RDONLY).u64(0);
        assertEquals(MAX_WRITE, fuse.read(node, fh, 0, -1).length());
        // And to the room the guest gave for the reply.
        byte[] req = fuse.request(READ, node, FuseClient.args(fh, 0L, -1, 0, 0L, 0, 0));
        assertEquals(100, fuse.raw(req, req.length, 116).length());
    }

    @Test
    void unknownOpcodesGetEnosys() {
        for (int opcode : new int[] {31, 32, 39, 47, 48, 51, 999, -1}) {
            assertEquals(-HostFs.ENOSYS, fuse.call(opcode, ROOT, 0L, 0L).error(), "opcode " + opcode);
        }
    }

    @Test
    void lengthsThatLieGetNoReplyOrEinval() throws Exception {
        byte[] req = fuse.request(GETATTR, ROOT, FuseClient.args(0, 0, 0L));
        assertNull(fuse.raw(req, 39, MAX_REPLY), "shorter than a header");
        java.nio.ByteBuffer.wrap(req).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, req.length + 1);
        assertNull(fuse.raw(req, req.length, MAX_REPLY), "len beyond the bytes given");
        java.nio.ByteBuffer.wrap(req).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, 12);
        assertNull(fuse.raw(req, req.length, MAX_REPLY), "len shorter than a header");
        assertNull(fuse.raw(fuse.request(GETATTR, ROOT, FuseClient.args(0, 0, 0L)), 56, 8), "no room for a reply");

        Reply c = fuse.create(ROOT, "f");
        byte[] write = fuse.request(WRITE, c.nodeid(), FuseClient.args(c.u64(128), 0L, 1_000_000, 0, 0L, 0, 0, new byte[10]));
        assertEquals(-HostFs.EINVAL, fuse.raw(write, write.length, MAX_REPLY).error(), "write size beyond the payload");
        assertEquals(-HostFs.EINVAL, fuse.call(SETATTR, ROOT, 8).error(), "arguments cut short");
        assertNull(fuse.call(BATCH_FORGET, ROOT, 1_000_000, 0, 5L, 1L), "count beyond the entries given");
        assertEquals(0L, Files.size(share.resolve("f")));
        assertTrue(server.counters().invalidRequests.sum() >= 5);
    }

    @Test
    void openHandlesAndNodesAreBounded() throws Exception {
        long node = fuse.create(ROOT, "f").nodeid();   // one handle
        int opened = 1;
        Reply r;
        while ((r = fuse.open(node, HostFs.O_RDONLY)).error() == 0) {
            opened++;
        }
        assertEquals(-HostFs.EMFILE, r.error());
        assertEquals(8, opened);
        for (int i = 0; i < 80; i++) {
            Files.writeString(share.resolve("n" + i), "");
        }
        int found = 0;
        while ((r = fuse.lookup(ROOT, "n" + found)).error() == 0) {
            found++;
        }
        assertEquals(-HostFs.ENFILE, r.error());
        assertEquals(64, server.inodeCount());
    }

    @Test
    void aReadOnlyShareRefusesEveryChange() throws Exception {
        Files.writeString(share.resolve("f"), "keep");
        Files.createDirectory(share.resolve("d"));
        List<String> before = listing(share);
        try (FuseServer ro = new FuseServer(share, true)) {
            FuseClient c = new FuseClient(ro);
            c.init();
            long f = c.lookup(ROOT, "f").nodeid();
            long d = c.lookup(ROOT, "d").nodeid();
            int erofs = -HostFs.EROFS;
            assertEquals(erofs, c.create(ROOT, "new").error());
            assertEquals(erofs, c.mkdir(ROOT, "new").error());
            assertEquals(erofs, c.call(MKNOD, ROOT, 0100644, 0, 0, 0, "new").error());
            assertEquals(erofs, c.call(SYMLINK, ROOT, "new", "f").error());
            assertEquals(erofs, c.call(LINK, ROOT, f, "new").error());
            assertEquals(erofs, c.call(UNLINK, ROOT, "f").error());
            assertEquals(erofs, c.call(RMDIR, ROOT, "d").error());
            assertEquals(erofs, c.call(RENAME, ROOT, d, "f", "g").error());
            assertEquals(erofs, c.call(RENAME2, ROOT, d, 0, 0, "f", "g").error());
            assertEquals(erofs, c.call(SETATTR, f, FATTR_SIZE, 0, 0L, 0L, 0L, 0L, 0L, 0L, 0, 0, 0, 0, 0, 0, 0, 0).error());
            assertEquals(erofs, c.call(SETXATTR, f, 1, 0, "user.k", new byte[] {1}).error());
            assertEquals(erofs, c.call(REMOVEXATTR, f, "user.k").error());
            assertEquals(erofs, c.open(f, HostFs.O_WRONLY).error());
            assertEquals(erofs, c.open(f, HostFs.O_RDWR).error());
            assertEquals(erofs, c.open(f, HostFs.O_RDONLY | HostFs.O_TRUNC).error());
            assertEquals(erofs, c.open(f, HostFs.O_RDONLY | HostFs.O_APPEND).error());
            long fh = c.open(f, HostFs.O_RDONLY).u64(0);
            assertEquals(erofs, c.write(f, fh, 0, new byte[] {'x'}).error());
            assertEquals(erofs, c.call(FALLOCATE, f, fh, 0L, 100L, 0, 0).error());
            assertEquals("keep", text(c.read(f, fh, 0, 10)));
        }
        assertEquals(before, listing(share));
        assertEquals("keep", Files.readString(share.resolve("f")));
        assertFalse(Files.exists(share.resolve("new")));
    }

    @Test
    void createdFilesTakeTheRequestersOwnerWhenTheVmmIsRoot() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0, "needs root");
        fuse.uid = 1234;
        fuse.gid = 4321;
        fuse.create(ROOT, "owned");
        assertEquals(1234, (int) Files.getAttribute(share.resolve("owned"), "unix:uid"));
        assertEquals(4321, (int) Files.getAttribute(share.resolve("owned"), "unix:gid"));
    }

    @Test
    void statfsReportsTheHostFileSystem() {
        Reply r = fuse.call(STATFS, ROOT);
        assertEquals(0, r.error());
        assertTrue(r.u64(0) > 0, "blocks");
        assertEquals(255, r.u32(44));
    }

    @Test
    void readAtTheRightOffsetAfterAppend() throws Exception {
        Files.writeString(share.resolve("log"), "one\n");
        long node = fuse.lookup(ROOT, "log").nodeid();
        long fh = fuse.open(node, HostFs.O_WRONLY | HostFs.O_APPEND).u64(0);
        fuse.write(node, fh, 0, "two\n".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals("one\ntwo\n".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(share.resolve("log")));
    }
}
