package dev.ember.server;

import dev.ember.PackageMap;
import org.junit.jupiter.api.Test;

/** ember-server's packages follow the map their {@code package-info.java} lines draw (see {@link PackageMap}). */
class PackageMapTest {

    @Test
    void everyPackageOfTheServerHasAMapLine() {
        PackageMap.ofThisModule().assertEveryPackageHasANote();
    }

    @Test
    void noPackageOfTheServerUsesWhatItsMapDoesNotAllow() {
        PackageMap.ofThisModule().assertEveryPackageFollowsItsNote();
    }
}
