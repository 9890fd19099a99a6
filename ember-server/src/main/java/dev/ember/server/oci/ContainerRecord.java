package dev.ember.server.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * What the runtime keeps about one container in {@code <root>/<id>/state.json}, written
 * atomically by {@code create} and by the container's VM process.
 *
 * @param status         the status last written: {@code creating}, {@code created},
 *                       {@code running} or {@code stopped}; {@link ContainerStore#status}
 *                       turns it into what the caller sees, given whether {@code pid} lives
 * @param pid            the VM process (the container's process as the host sees it), 0 before it exists
 * @param pidStartMillis when that process started, so a reused pid is not taken for it
 * @param created        creation time, RFC 3339
 * @param error          why the VM process ended before the container ran, or null
 * @param exitCode       the container process's exit status once known, or null
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ContainerRecord(
        String id,
        String bundle,
        String status,
        long pid,
        long pidStartMillis,
        String created,
        Map<String, String> annotations,
        String error,
        Integer exitCode) {

    public static final String CREATING = "creating";
    public static final String CREATED = "created";
    public static final String RUNNING = "running";
    public static final String STOPPED = "stopped";

    public ContainerRecord withStatus(String s) {
        return new ContainerRecord(id, bundle, s, pid, pidStartMillis, created, annotations, error, exitCode);
    }

    /** {@return this record naming {@code process} as the container's VM process} */
    public ContainerRecord withProcess(ProcessHandle process) {
        return new ContainerRecord(id, bundle, status, process.pid(), startMillis(process), created, annotations, error, exitCode);
    }

    /** {@return when {@code process} started, in ms since the epoch; 0 if the system does not say} */
    static long startMillis(ProcessHandle process) {
        return process.info().startInstant().map(t -> t.toEpochMilli()).orElse(0L);
    }

    public ContainerRecord failed(String why) {
        return new ContainerRecord(id, bundle, STOPPED, pid, pidStartMillis, created, annotations, why, exitCode);
    }

    public ContainerRecord exited(int code) {
        return new ContainerRecord(id, bundle, STOPPED, pid, pidStartMillis, created, annotations, error, code);
    }
}
