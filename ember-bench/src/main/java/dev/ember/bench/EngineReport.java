package dev.ember.bench;

import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one Ember process said about its execution engine and its JVM's code cache when it
 * exited: the lines {@code ember run --engine-stats} prints to stderr
 * ({@code dev.ember.vmm.EngineStats#describe}) and the code cache summary that HotSpot prints at
 * exit with {@link #JVM_OPTIONS}.
 *
 * <p>Every figure is NaN when its line is missing: the interpreter prints no region lines, and
 * a process that was killed prints nothing.
 *
 * <p>The lines are parsed, not shared as a type, because the harness drives Ember as a user
 * does, through its command line (see the package description). Numbers are read whatever the
 * child JVM's locale: grouping characters are dropped, and the one-decimal figures
 * ({@code %.1f}) are read as tenths.
 *
 * @param engine              {@code jit} or {@code interp}, or null
 * @param interpreted         guest instructions the interpreter ran
 * @param translated          guest instructions run in translated code
 * @param translatedPercent   the share of translated ones, in percent
 * @param regionsTranslated   regions compiled to bytecode
 * @param regionsInvalidated  regions dropped because their page was written
 * @param regionsEvicted      regions dropped to keep the cache within its bound
 * @param regionsLive         regions in the translation cache at exit
 * @param bytecodeKib         bytecode of the live regions, KiB
 * @param translationMillis   time spent translating
 * @param codeCacheUsedKib    the JVM's code cache in use at exit, KiB (every code heap)
 * @param codeCacheMaxUsedKib the most of it ever in use, KiB
 */
record EngineReport(String engine, double interpreted, double translated, double translatedPercent,
                    double regionsTranslated, double regionsInvalidated, double regionsEvicted, double regionsLive,
                    double bytecodeKib, double translationMillis, double codeCacheUsedKib, double codeCacheMaxUsedKib) {

    /**
     * JVM options that make HotSpot print its code cache summary at exit ({@code PrintCodeCache},
     * a product flag) to stderr instead of stdout, which is the guest's console. The summary's
     * last lines read {@code CodeCache: size=245764Kb, used=3635Kb, max_used=3668Kb, ...}.
     */
    static final java.util.List<String> JVM_OPTIONS = java.util.List.of("-XX:+PrintCodeCache", "-XX:+DisplayVMOutputToStderr");

    /** A figure as printed with {@code %,d} or {@code %.1f} in any locale. */
    private static final String N = "([0-9][0-9.,'\\u00a0\\u202f]*)";
    private static final Pattern ENGINE = Pattern.compile("^engine: (\\w+)", Pattern.MULTILINE);
    private static final Pattern INSTRUCTIONS = Pattern.compile(
            "^instructions: " + N + " interpreted, " + N + " translated \\(" + N + "% translated\\)", Pattern.MULTILINE);
    private static final Pattern REGIONS = Pattern.compile("^regions: " + N + " translated, " + N + " invalidated, " + N
            + " evicted, " + N + " live \\(" + N + " guest instructions, " + N + " KiB of bytecode\\)", Pattern.MULTILINE);
    private static final Pattern TRANSLATION_TIME = Pattern.compile("^translation time: " + N + " ms", Pattern.MULTILINE);
    private static final Pattern CODE_CACHE = Pattern.compile("^CodeCache: size=\\d+Kb,? used=(\\d+)Kb,? max_used=(\\d+)Kb",
            Pattern.MULTILINE);

    /** {@return the figures in {@code stderr}, the whole standard error of one Ember process} */
    static EngineReport parse(String stderr) {
        String engine = null;
        double interpreted = Double.NaN, translated = Double.NaN, percent = Double.NaN;
        double regions = Double.NaN, invalidated = Double.NaN, evicted = Double.NaN, live = Double.NaN;
        double bytecode = Double.NaN, millis = Double.NaN, used = Double.NaN, maxUsed = Double.NaN;
        MatchResult m = last(ENGINE, stderr);
        if (m != null) {
            engine = m.group(1);
        }
        if ((m = last(INSTRUCTIONS, stderr)) != null) {
            interpreted = integer(m.group(1));
            translated = integer(m.group(2));
            percent = tenths(m.group(3));
        }
        if ((m = last(REGIONS, stderr)) != null) {
            regions = integer(m.group(1));
            invalidated = integer(m.group(2));
            evicted = integer(m.group(3));
            live = integer(m.group(4));
            bytecode = integer(m.group(6));
        }
        if ((m = last(TRANSLATION_TIME, stderr)) != null) {
            millis = tenths(m.group(1));
        }
        if ((m = last(CODE_CACHE, stderr)) != null) {
            used = integer(m.group(1));
            maxUsed = integer(m.group(2));
        }
        return new EngineReport(engine, interpreted, translated, percent, regions, invalidated, evicted, live, bytecode,
                millis, used, maxUsed);
    }

    /** {@return whether the engine's statistics were found} */
    boolean hasEngineStats() {
        return engine != null && !Double.isNaN(interpreted);
    }

    /** {@return whether the code cache summary was found} */
    boolean hasCodeCache() {
        return !Double.isNaN(codeCacheUsedKib);
    }

    /**
     * Adds the figures to {@code results} as engine metrics of column {@code vmm}, labelled
     * with {@code phase} (what the process had done: "after boot").
     */
    void addTo(Results results, Vmm vmm, String key, String phase) {
        add(results, vmm, key + "-minstr", phase + ": guest instructions (millions)", "%,.1f",
                (interpreted + translated) / 1e6);
        add(results, vmm, key + "-translated", phase + ": instructions translated (%)", "%.1f", translatedPercent);
        add(results, vmm, key + "-jit-ms", phase + ": translation time (ms)", "%,.1f", translationMillis);
        add(results, vmm, key + "-regions", phase + ": regions translated", "%,.0f", regionsTranslated);
        add(results, vmm, key + "-invalidated", phase + ": regions invalidated", "%,.0f", regionsInvalidated);
        add(results, vmm, key + "-evicted", phase + ": regions evicted", "%,.0f", regionsEvicted);
        add(results, vmm, key + "-live", phase + ": regions live (translation cache)", "%,.0f", regionsLive);
        add(results, vmm, key + "-bytecode", phase + ": bytecode of live regions (KiB)", "%,.0f", bytecodeKib);
        add(results, vmm, key + "-codecache", phase + ": JVM code cache used at exit (KiB)", "%,.0f", codeCacheUsedKib);
        add(results, vmm, key + "-codecache-max", phase + ": JVM code cache, most used (KiB)", "%,.0f", codeCacheMaxUsedKib);
    }

    private static void add(Results results, Vmm vmm, String key, String label, String format, double value) {
        if (!Double.isNaN(value)) {
            results.add(Results.Metric.engine(key, label, format), vmm, value);
        }
    }

    /** {@return a short summary for the progress line} */
    String summary() {
        if (!hasEngineStats()) {
            return "no engine statistics on stderr";
        }
        StringBuilder s = new StringBuilder(String.format(java.util.Locale.ROOT, "%.1f%% translated", translatedPercent));
        if (!Double.isNaN(regionsTranslated)) {
            s.append(String.format(java.util.Locale.ROOT, ", %.0f regions in %.0f ms, %.0f KiB bytecode",
                    regionsTranslated, translationMillis, bytecodeKib));
        }
        if (hasCodeCache()) {
            s.append(String.format(java.util.Locale.ROOT, ", code cache %.0f KiB", codeCacheUsedKib));
        }
        return s.toString();
    }

    /** {@return the last match in {@code text}, or null: a process prints its statistics once, at exit} */
    private static MatchResult last(Pattern p, String text) {
        Matcher m = p.matcher(text);
        MatchResult found = null;
        while (m.find()) {
            found = m.toMatchResult();
        }
        return found;
    }

    private static double integer(String figure) {
        String digits = figure.replaceAll("[^0-9]", "");
        return digits.isEmpty() ? Double.NaN : Double.parseDouble(digits);
    }

    /** A {@code %.1f} figure: its digits are tenths, whatever the decimal separator. */
    private static double tenths(String figure) {
        return integer(figure) / 10;
    }
}
