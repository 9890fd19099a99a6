package dev.ember.config;

/** Checks shared by the records. */
final class ConfigChecks {

    private ConfigChecks() {
    }

    /** Ids are Firecracker's: 1 to 64 characters of letters, digits and underscore. */
    static void id(String what, String id) {
        if (id == null || id.isEmpty() || id.length() > 64 || !id.matches("[A-Za-z0-9_]+")) {
            throw new IllegalArgumentException("invalid " + what + " id '" + id
                    + "': use 1 to 64 letters, digits or underscores");
        }
    }
}
