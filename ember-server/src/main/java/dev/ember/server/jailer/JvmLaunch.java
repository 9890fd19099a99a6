package dev.ember.server.jailer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How this JVM was started, so the jailed VMM starts the same way: the JDK, the JVM options the
 * {@code ember} launcher chose (scripts/lib.sh: native access, GC, stack size, the AOT cache), the
 * class path. Read from {@code /proc/self/cmdline} (NUL-separated argv), up to the main class.
 *
 * @param javaHome the JDK this JVM runs from
 * @param options the JVM options, in order, without the class path and without options that write files
 * @param classPath the class path entries (jars or directories)
 * @param aotCache the AOT cache file given with {@code -XX:AOTCache=}, or null
 */
record JvmLaunch(Path javaHome, List<String> options, List<Path> classPath, Path aotCache) {

    /** {@return this JVM's launch, found in its command line before {@code mainClass}} */
    static JvmLaunch current(String mainClass) throws JailerException {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc/self/cmdline"));
            String[] argv = new String(raw, StandardCharsets.UTF_8).split("\0");
            return parse(List.of(argv), mainClass, Path.of(System.getProperty("java.home")));
        } catch (IOException e) {
            throw new JailerException("cannot read this JVM's command line: " + e.getMessage(), e);
        }
    }

    /** {@return the launch {@code argv} describes} (argv[0] is the java binary; the JDK is {@code javaHome}) */
    static JvmLaunch parse(List<String> argv, String mainClass, Path javaHome) throws JailerException {
        List<String> options = new ArrayList<>();
        List<Path> classPath = new ArrayList<>();
        Path aot = null;
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals(mainClass)) {
                return new JvmLaunch(javaHome, options, classPath, aot);
            }
            if (a.equals("-cp") || a.equals("-classpath") || a.equals("--class-path")) {
                for (String e : argv.get(++i).split(":")) {
                    if (!e.isEmpty()) {
                        classPath.add(Path.of(e).toAbsolutePath());
                    }
                }
            } else if (a.startsWith("-XX:AOTCacheOutput") || a.startsWith("-XX:AOTConfiguration")
                    || a.startsWith("-XX:AOTMode=record")) {
                continue;   // a training run's options: the jailed VMM only reads the cache
            } else {
                if (a.startsWith("-XX:AOTCache=")) {
                    aot = Path.of(a.substring("-XX:AOTCache=".length())).toAbsolutePath();
                }
                options.add(a);
            }
        }
        throw new JailerException("cannot find the main class " + mainClass + " in this JVM's command line"
                + " (ember jailer runs through the ember launcher)");
    }

    /** {@return the java binary} */
    Path java() {
        return javaHome.resolve("bin/java");
    }

    /** {@return the class path as the {@code -cp} value} */
    String classPathValue() {
        return String.join(":", classPath.stream().map(Path::toString).toList());
    }
}
