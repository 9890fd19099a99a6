package dev.ember.bench;

import dev.ember.PackageMap;
import org.junit.jupiter.api.Test;

/** ember-bench's packages follow the map their {@code package-info.java} lines draw (see {@link PackageMap}). */
class PackageMapTest {

    @Test
    void everyPackageOfTheBenchmarksHasAMapLine() {
        PackageMap.ofThisModule().assertEveryPackageHasANote();
    }

    @Test
    void noPackageOfTheBenchmarksUsesWhatItsMapDoesNotAllow() {
        PackageMap.ofThisModule().assertEveryPackageFollowsItsNote();
    }
}
