package dev.ember;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import dev.ember.config.DriveConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ember-vmm's packages follow the map their {@code package-info.java} lines draw, and the checker catches what breaks it. */
class PackageMapTest {

    @Test
    void everyPackageOfTheLibraryHasAMapLine() {
        PackageMap.ofThisModule().assertEveryPackageHasANote();
    }

    @Test
    void noPackageOfTheLibraryUsesWhatItsMapDoesNotAllow() {
        PackageMap.ofThisModule().assertEveryPackageFollowsItsNote();
    }

    @Test
    void mapLineListsPackagesAndLibrariesWithTheProseMarkupRemoved() {
        PackageMap.Note note = PackageMap.Note.parse("""
                /**
                 * Prose.
                 *
                 * <p>Package map: uses {@code memory}, {@code devices.irq}; libraries {@code com.fasterxml.jackson}.
                 */
                package dev.ember.x;
                """).orElseThrow();

        assertThat(note).isEqualTo(new PackageMap.Note(Set.of("memory", "devices.irq"), false,
                List.of("com.fasterxml.jackson")));
    }

    @Test
    void packageInfoWithoutAMapLineHasNoNote() {
        assertThat(PackageMap.Note.parse("/** May use: {@code memory}. */\npackage dev.ember.x;\n")).isEmpty();
    }

    @Test
    void forbiddenUseIsReportedWithPackageClassAndTarget(@TempDir Path sources) throws IOException {
        Path info = Files.createDirectories(sources.resolve("dev/ember")).resolve("package-info.java");
        Files.writeString(info, "/**\n * <p>Package map: uses {@code memory}.\n */\npackage dev.ember;\n");
        PackageMap map = PackageMap.of(new ClassFileImporter().importClasses(UsesADriveConfig.class), sources);

        assertThatThrownBy(map::assertEveryPackageFollowsItsNote)
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("package dev.ember: class " + UsesADriveConfig.class.getName()
                        + " uses dev.ember.config.DriveConfig");
    }

    @Test
    void packageWithoutAMapLineIsNamed(@TempDir Path sources) {
        PackageMap map = PackageMap.of(new ClassFileImporter().importClasses(UsesADriveConfig.class), sources);

        assertThatThrownBy(map::assertEveryPackageHasANote).hasMessageContaining("dev.ember");
    }

    /** A class of package {@code dev.ember} that uses {@code config}, for the checker to catch. */
    static final class UsesADriveConfig {
        DriveConfig drive;
    }
}
