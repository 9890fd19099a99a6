package dev.ember;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.tngtech.archunit.ArchConfiguration;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.lang.syntax.ArchRuleDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The package map, checked: every package's {@code package-info.java} carries one
 * machine-readable line beside its prose, and a module's {@code PackageMapTest} fails when a
 * package has no such line or a class uses what its package's line does not allow.
 *
 * <p>The line, inside the package's Javadoc:
 * <pre>{@code
 *  * <p>Package map: uses memory, devices.irq; libraries com.fasterxml.jackson.
 * }</pre>
 * {@code uses} lists Ember packages by their name under {@code dev.ember} ({@code nothing} for
 * none, {@code every package} for {@code vmm}, the one place where everything meets);
 * {@code libraries} lists package prefixes outside Ember and the JDK. A package may always use
 * its own classes and the JDK ({@code java.}, {@code javax.}, {@code jdk.}, {@code sun.},
 * {@code com.sun.}). A subpackage is a package of its own: {@code devices.virtio} does not allow
 * {@code devices.virtio.queue}.
 *
 * <p>Dependencies are read from the compiled classes by ArchUnit, so a fully qualified name in
 * the code counts as much as an {@code import}; constants the compiler inlines do not count.
 * Generated packages ({@value #GENERATED}, JMH's) have no {@code package-info.java} and are not
 * checked.
 */
public final class PackageMap {

    /** What starts the machine-readable line. */
    public static final String MARKER = "Package map:";

    /** The last name of packages that code generators write, which are not checked. */
    public static final String GENERATED = "jmh_generated";

    private static final String ROOT = "dev.ember.";
    private static final Pattern LINE = Pattern.compile("^\\s*\\*?\\s*(?:<p>)?\\s*" + Pattern.quote(MARKER) + "(.*)$",
            Pattern.MULTILINE);
    private static final Pattern CODE = Pattern.compile("\\{@code\\s+([^}]*)}");
    private static final List<String> JDK = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.");

    /**
     * One package's note: the Ember packages it may use (short names) and the library prefixes.
     *
     * @param uses Ember packages by their name under {@code dev.ember}
     * @param everyPackage whether any Ember package is allowed
     * @param libraries package prefixes outside Ember and the JDK
     */
    public record Note(Set<String> uses, boolean everyPackage, List<String> libraries) {

        /** {@return whether a class of {@code packageName} may use a class of {@code target}} */
        boolean allows(String packageName, String target) {
            if (target.equals(packageName) || JDK.stream().anyMatch(target::startsWith)) {
                return true;
            }
            if (target.startsWith(ROOT)) {
                return everyPackage || uses.contains(target.substring(ROOT.length()));
            }
            return libraries.stream().anyMatch(prefix -> target.equals(prefix) || target.startsWith(prefix + "."));
        }

        /**
         * Reads the note from a {@code package-info.java}'s text.
         *
         * @return the note, or empty when the text has no {@value #MARKER} line
         * @throws IllegalArgumentException when the line is there but malformed
         */
        public static Optional<Note> parse(String packageInfo) {
            Matcher line = LINE.matcher(packageInfo);
            if (!line.find()) {
                return Optional.empty();
            }
            String text = CODE.matcher(line.group(1)).replaceAll("$1").strip();
            if (text.endsWith(".")) {
                text = text.substring(0, text.length() - 1);
            }
            Set<String> uses = null;
            boolean everyPackage = false;
            List<String> libraries = List.of();
            for (String clause : text.split(";")) {
                String[] words = clause.strip().split("\\s+", 2);
                List<String> items = words.length < 2 ? List.of()
                        : Arrays.stream(words[1].split(",")).map(String::strip).toList();
                switch (words[0]) {
                    case "uses" -> {
                        everyPackage = items.equals(List.of("every package"));
                        uses = everyPackage || items.equals(List.of("nothing")) ? Set.of() : Set.copyOf(items);
                    }
                    case "libraries" -> libraries = items;
                    default -> throw new IllegalArgumentException("package map line: unknown clause '" + clause.strip()
                            + "' (expected 'uses ...' and optionally '; libraries ...')");
                }
            }
            if (uses == null) {
                throw new IllegalArgumentException("package map line without 'uses': " + line.group(0).strip());
            }
            return Optional.of(new Note(uses, everyPackage, libraries));
        }
    }

    private static PackageMap thisModule;

    static {
        // Only the names of what a class uses matter here: reading the JDK's and the libraries'
        // classes behind them would multiply the import's time.
        ArchConfiguration.get().setResolveMissingDependenciesFromClassPath(false);
    }

    private final JavaClasses classes;
    private final Map<String, Note> notes = new TreeMap<>();
    private final Set<String> missing = new TreeSet<>();

    private PackageMap(JavaClasses classes, Path sourceRoot) {
        this.classes = classes;
        for (String pkg : classes.stream().map(JavaClass::getPackageName).collect(Collectors.toCollection(TreeSet::new))) {
            if (pkg.endsWith("." + GENERATED)) {
                continue;
            }
            Path info = sourceRoot.resolve(pkg.replace('.', '/')).resolve("package-info.java");
            Optional<Note> note = Optional.empty();
            try {
                if (Files.exists(info)) {
                    note = Note.parse(Files.readString(info));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            note.ifPresentOrElse(n -> notes.put(pkg, n), () -> missing.add(pkg));
        }
    }

    /**
     * The map of the module the test runs in: its main classes ({@code target/classes}) and their
     * notes ({@code src/main/java}), both relative to the working directory Surefire gives a
     * module's tests.
     */
    public static synchronized PackageMap ofThisModule() {
        // Importing a module's classes is most of a check's time: once per test JVM.
        if (thisModule == null) {
            thisModule = of(new ClassFileImporter().importPath(Path.of("target/classes")), Path.of("src/main/java"));
        }
        return thisModule;
    }

    /** {@return the map of {@code classes}, with notes read from {@code sourceRoot}} */
    public static PackageMap of(JavaClasses classes, Path sourceRoot) {
        return new PackageMap(classes, sourceRoot);
    }

    /** Fails, naming them, when packages have no {@value #MARKER} line in their {@code package-info.java}. */
    public void assertEveryPackageHasANote() {
        assertEquals(Set.of(), missing, "packages without a '" + MARKER + " uses ...' line in package-info.java");
    }

    /** Fails, naming the package, the class and the forbidden dependency, when a class breaks its package's note. */
    public void assertEveryPackageFollowsItsNote() {
        rule().check(classes);
    }

    /** {@return the ArchUnit rule: every class with a note uses only what the note allows} */
    public ArchRule rule() {
        return ArchRuleDefinition.classes().should(new ArchCondition<JavaClass>("use only what their package map allows") {
            @Override
            public void check(JavaClass origin, ConditionEvents events) {
                String pkg = origin.getPackageName();
                Note note = notes.get(pkg);
                if (note == null) {
                    return;
                }
                for (Dependency dependency : origin.getDirectDependenciesFromSelf()) {
                    JavaClass target = dependency.getTargetClass();
                    if (target.isArray()) {
                        target = target.getBaseComponentType();
                    }
                    if (target.isPrimitive() || note.allows(pkg, target.getPackageName())) {
                        continue;
                    }
                    events.add(SimpleConditionEvent.violated(dependency, "package " + pkg + ": class "
                            + origin.getName() + " uses " + target.getName() + ", which its package map does not allow ("
                            + dependency.getDescription() + ")"));
                }
            }
        });
    }
}
