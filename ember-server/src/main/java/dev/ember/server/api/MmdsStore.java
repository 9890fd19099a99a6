package dev.ember.server.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ember.mmds.Mmds;
import dev.ember.mmds.MmdsLimitExceededException;

/**
 * The MMDS data store as the API sees it ({@code GET}/{@code PUT}/{@code PATCH /mmds}), over
 * Ember's {@link Mmds}, with the data-store errors worded as Firecracker's
 * {@code VmmActionError::Mmds} (400) and {@code MmdsLimitExceeded} (413).
 *
 * <p>Callers serialise access (the controller's lock); {@link Mmds} is itself thread-safe for the
 * guest-side readers.
 */
final class MmdsStore {

    private final Mmds mmds;

    MmdsStore(Mmds mmds) {
        this.mmds = mmds;
    }

    /** {@return the store the guest-facing MMDS reads} */
    Mmds mmds() {
        return mmds;
    }

    /** {@return the document; {@code {}} before the first put} */
    JsonNode get() {
        try {
            return Json.MAPPER.readTree(mmds.get());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Replaces the document; 413 when it exceeds the limit. */
    void put(JsonNode value) {
        try {
            mmds.put(value.toString());
        } catch (IllegalArgumentException e) {
            throw refused(e);
        }
    }

    /** Merges {@code patch} into the document; 400 before any put, 413 when too large. */
    void patch(JsonNode patch) {
        try {
            mmds.patch(patch.toString());
        } catch (IllegalStateException e) {
            throw ApiError.badRequest("MMDS error: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw refused(e);
        }
    }

    private static ApiError refused(IllegalArgumentException e) {
        if (e instanceof MmdsLimitExceededException) {
            return new ApiError(413, "MMDS limit exceeded error: " + e.getMessage());
        }
        return ApiError.badRequest("MMDS error: " + e.getMessage());
    }
}
