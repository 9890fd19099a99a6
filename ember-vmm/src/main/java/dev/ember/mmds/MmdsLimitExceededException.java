package dev.ember.mmds;

/**
 * The data store refused a put or patch because the result would exceed its size limit
 * (Firecracker's {@code MmdsDatastoreError::DataStoreLimitExceeded}). Its own type, so the API
 * answers 413 by the exception, never by the message's words; the message is Firecracker's text.
 */
public final class MmdsLimitExceededException extends IllegalArgumentException {

    MmdsLimitExceededException() {
        super(Mmds.LIMIT_EXCEEDED);
    }
}
