package dev.ember.server.jailer;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few glibc calls the jailer makes through {@code java.lang.foreign}: {@code geteuid} and
 * {@code prlimit} (prlimit(2): set another process's resource limits, here the launcher's, which
 * then execs the jail).
 */
final class Posix {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MemoryLayout STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle GETEUID = LINKER.downcallHandle(
            LINKER.defaultLookup().find("geteuid").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle PRLIMIT = LINKER.downcallHandle(
            LINKER.defaultLookup().find("prlimit").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS),
            Linker.Option.captureCallState("errno"));

    private Posix() { }

    /** {@return this process's effective uid} */
    static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("geteuid failed", t);
        }
    }

    /**
     * Sets both the soft and the hard {@code limit} of process {@code pid}.
     *
     * @throws JailerException naming the limit and errno when the kernel refuses
     */
    static void prlimit(long pid, ResourceLimit limit) throws JailerException {
        try (Arena arena = Arena.ofConfined()) {
            // struct rlimit { rlim_t rlim_cur, rlim_max; }: two unsigned 64-bit words.
            MemorySegment rlimit = arena.allocate(JAVA_LONG, 2);
            rlimit.setAtIndex(JAVA_LONG, 0, limit.value());
            rlimit.setAtIndex(JAVA_LONG, 1, limit.value());
            MemorySegment state = arena.allocate(STATE);
            int rc = (int) PRLIMIT.invokeExact(state, (int) pid, limit.resource(), rlimit, MemorySegment.NULL);
            if (rc != 0) {
                throw new JailerException("cannot set the resource limit " + limit.name() + "=" + limit.value()
                        + " (prlimit errno " + (int) ERRNO.get(state, 0L) + ")");
            }
        } catch (JailerException e) {
            throw e;
        } catch (Throwable t) {
            throw new JailerException("cannot set the resource limit " + limit.name() + ": " + t, t);
        }
    }
}
