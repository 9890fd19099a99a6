import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs Ember's Jazzer fuzz tests outside Maven, for {@code scripts/fuzz.sh} (see docs/fuzzing.md).
 * Launched from source ({@code java -cp TEST_CLASSPATH scripts/FuzzRunner.java}) so one file
 * serves every module's test classpath.
 *
 * <pre>
 *   FuzzRunner --list PACKAGE...      prints Class#method for every @FuzzTest under the packages
 *   FuzzRunner Class#method           runs that one fuzz test (fuzzes it when JAZZER_FUZZ=1)
 * </pre>
 *
 * Jazzer fuzzes one @FuzzTest per JVM, so the script starts one runner per target. The exit
 * status is 0 when the test passed, 1 when it failed (a finding), 2 on a usage error.
 */
public final class FuzzRunner {

    private static final String FUZZ_TEST = "com.code_intelligence.jazzer.junit.FuzzTest";

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("--list")) {
            List<DiscoverySelector> packages = new ArrayList<>();
            for (int i = 1; i < args.length; i++) {
                packages.add(selectPackage(args[i]));
            }
            list(packages);
            return;
        }
        if (args.length != 1 || !args[0].contains("#")) {
            System.err.println("usage: FuzzRunner --list PACKAGE... | FuzzRunner Class#method");
            System.exit(2);
        }
        System.exit(run(args[0]) ? 0 : 1);
    }

    private static void list(List<DiscoverySelector> selectors) throws Exception {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        TestPlan plan = LauncherFactory.create().discover(request);
        TreeSet<String> targets = new TreeSet<>();
        for (TestIdentifier root : plan.getRoots()) {
            collect(plan, root, targets);
        }
        targets.forEach(System.out::println);
    }

    private static void collect(TestPlan plan, TestIdentifier id, TreeSet<String> out) throws Exception {
        if (id.getSource().orElse(null) instanceof MethodSource m) {
            Class<?> annotation = Class.forName(FUZZ_TEST);
            @SuppressWarnings("unchecked")
            var fuzzTest = (Class<? extends java.lang.annotation.Annotation>) annotation;
            if (m.getJavaMethod().isAnnotationPresent(fuzzTest)) {
                out.add(m.getJavaClass().getSimpleName() + "#" + m.getMethodName() + " " + m.getClassName());
            }
        }
        for (TestIdentifier child : plan.getChildren(id)) {
            collect(plan, child, out);
        }
    }

    /** Runs {@code target} ({@code fully.qualified.Class#method}); {@return whether it passed} */
    private static boolean run(String target) throws ClassNotFoundException {
        Class<?> testClass = Class.forName(target.substring(0, target.indexOf('#')));
        String name = target.substring(target.indexOf('#') + 1);
        List<java.lang.reflect.Method> methods = java.util.Arrays.stream(testClass.getDeclaredMethods())
                .filter(m -> m.getName().equals(name)).toList();
        if (methods.size() != 1) {
            System.err.println(target + ": expected one method named " + name + ", found " + methods.size());
            return false;
        }
        DiscoverySelector selector = selectMethod(testClass, methods.get(0));
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selector).build();
        Launcher launcher = LauncherFactory.create();
        boolean[] failed = {false};
        int[] ran = {0};
        launcher.execute(request, new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest()) {
                    ran[0]++;
                }
                if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    failed[0] = true;
                    System.err.println("FAILED " + id.getDisplayName() + ": "
                            + result.getThrowable().map(t -> t.toString()).orElse(result.getStatus().toString()));
                    result.getThrowable().ifPresent(Throwable::printStackTrace);
                }
            }
        });
        if (ran[0] == 0) {
            System.err.println("no fuzz test ran for " + target);
            return false;
        }
        return !failed[0];
    }
}
