package dev.ember.server.oci;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The runtime's state directory ({@code --root}, default {@value #DEFAULT_ROOT}): one directory per
 * container holding {@code state.json}, its VM process's control socket, the vsock socket and the
 * guest console log. Nothing outside a container's own directory is touched on its behalf, so
 * one container's failure never reaches another's.
 */
public final class ContainerStore {

    public static final String DEFAULT_ROOT = "/run/ember-oci";
    /** runc's rule for ids (libcontainer's {@code idRegex}), bounded in length. */
    private static final Pattern ID = Pattern.compile("[\\w+\\-.]{1,128}");
    /** sun_path is 108 bytes; keep room for the vsock device's {@code _PORT} suffix. */
    private static final int MAX_SOCKET_PATH = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;

    public ContainerStore(Path root) {
        this.root = root.toAbsolutePath();
    }

    public Path root() {
        return root;
    }

    /** @throws OciException if {@code id} is not a valid container id */
    public static String checkId(String id) throws OciException {
        if (id == null || !ID.matcher(id).matches() || id.equals(".") || id.equals("..")) {
            throw new OciException("invalid container id \"" + id + "\": 1 to 128 letters, digits, '_', '+', '-' or '.'");
        }
        return id;
    }

    /** {@return the container's directory} */
    public Path dir(String id) {
        return root.resolve(id);
    }

    /**
     * {@return a directory for the container's Unix sockets}: its own directory when the paths fit
     * in {@code sun_path}, else a short one under {@code /run} named by a hash of it
     */
    public Path socketDir(String id) throws IOException {
        Path dir = dir(id);
        if (dir.resolve("vsock.sock").toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH) {
            return dir;
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(dir.toString().getBytes(StandardCharsets.UTF_8));
            Path s = Path.of("/run/ember-oci-sock", HexFormat.of().formatHex(h, 0, 8));
            Files.createDirectories(s);
            return s;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Makes the container's directory; the atomic mkdir is the lock that gives an id to one
     * container only.
     *
     * @throws OciException if a container with that id exists
     */
    public Path reserve(String id) throws OciException {
        checkId(id);
        try {
            Files.createDirectories(root);
            return Files.createDirectory(dir(id));
        } catch (FileAlreadyExistsException e) {
            throw new OciException("container " + id + " already exists");
        } catch (IOException e) {
            throw new OciException("cannot create the state directory under " + root + ": " + e.getMessage());
        }
    }

    /** {@return the container's record} @throws OciException if there is no such container */
    public ContainerRecord read(String id) throws OciException {
        checkId(id);
        Path file = dir(id).resolve("state.json");
        try {
            return JSON.readValue(Files.readString(file), ContainerRecord.class);
        } catch (NoSuchFileException e) {
            throw new OciException("container " + id + " does not exist");
        } catch (IOException e) {
            throw new OciException("container " + id + ": cannot read its state: " + e.getMessage());
        }
    }

    /** {@return the record, or empty when it does not exist or cannot be read} */
    public Optional<ContainerRecord> find(String id) {
        try {
            return Optional.of(read(id));
        } catch (OciException e) {
            return Optional.empty();
        }
    }

    /** Writes the record atomically (a temporary file renamed over the old one). */
    public void write(ContainerRecord r) throws IOException {
        Path dir = dir(r.id());
        Path tmp = dir.resolve("state.json." + ProcessHandle.current().pid() + ".tmp");
        Files.write(tmp, JSON.writeValueAsBytes(r));
        try {
            Files.move(tmp, dir.resolve("state.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir.resolve("state.json"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** {@return whether the record's VM process still runs (the same process, not a reused pid)} */
    public static boolean alive(ContainerRecord r) {
        if (r.pid() <= 0) {
            return false;
        }
        return ProcessHandle.of(r.pid())
                .filter(ProcessHandle::isAlive)
                .map(h -> h.info().startInstant().isEmpty() || ContainerRecord.startMillis(h) == r.pidStartMillis())
                .orElse(false);
    }

    /** {@return the status the OCI state reports: the recorded one while the process lives, else stopped} */
    public static String status(ContainerRecord r) {
        if (r.status().equals(ContainerRecord.STOPPED)) {
            return ContainerRecord.STOPPED;
        }
        if (r.pid() == 0 && r.status().equals(ContainerRecord.CREATING)) {
            return ContainerRecord.CREATING;
        }
        return alive(r) ? r.status() : ContainerRecord.STOPPED;
    }

    /** Removes the container's directory and, if it has one, its socket directory. */
    public void remove(String id) throws IOException {
        Path sockets = socketDir(id);
        deleteTree(dir(id));
        if (!sockets.startsWith(dir(id))) {
            deleteTree(sockets);
        }
    }

    /** Deletes {@code p} and everything beneath it, never following a symbolic link. */
    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
