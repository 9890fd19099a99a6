package dev.ember.server.oci;

import java.util.List;
import java.util.Locale;

/** Signal names and numbers as {@code kill} takes them: Linux's generic numbering (signal(7)). */
public final class Signals {

    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    /** Index = number; names without the SIG prefix. */
    private static final List<String> NAMES = List.of("", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS",
            "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP",
            "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS");
    private static final int SIGRTMIN = 34, SIGRTMAX = 64;

    private Signals() { }

    /**
     * {@return the number of a signal given as {@code 15}, {@code TERM}, {@code SIGTERM},
     * {@code RTMIN+3} or {@code SIGRTMAX-1}}
     *
     * @throws OciException naming the signal if it is not one
     */
    public static int parse(String s) throws OciException {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.startsWith("SIG")) {
            t = t.substring(3);
        }
        try {
            int n = Integer.parseInt(t);
            if (n >= 1 && n <= SIGRTMAX) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            int i = NAMES.indexOf(t);
            if (i > 0) {
                return i;
            }
            if (t.equals("IOT")) {
                return 6;
            }
            if (t.equals("POLL")) {
                return 29;
            }
            int rt = realtime(t);
            if (rt > 0) {
                return rt;
            }
        }
        throw new OciException("unknown signal \"" + s + "\"");
    }

    private static int realtime(String t) {
        try {
            if (t.equals("RTMIN")) {
                return SIGRTMIN;
            }
            if (t.equals("RTMAX")) {
                return SIGRTMAX;
            }
            if (t.startsWith("RTMIN+")) {
                int n = SIGRTMIN + Integer.parseInt(t.substring(6));
                return n <= SIGRTMAX ? n : -1;
            }
            if (t.startsWith("RTMAX-")) {
                int n = SIGRTMAX - Integer.parseInt(t.substring(6));
                return n >= SIGRTMIN ? n : -1;
            }
        } catch (NumberFormatException ignored) {
            return -1;
        }
        return -1;
    }
}
