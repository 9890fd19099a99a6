package dev.ember.server.api;

/**
 * A refused API request: the HTTP status and Firecracker's {@code fault_message} text.
 *
 * <p>Thrown by {@link Json} while parsing a body and by {@link VmmController} when a request
 * breaks a rule; the router turns it into {@code {"fault_message": "..."}}. A refused request
 * changes nothing: every controller method checks before it stores.
 *
 * @see <a href="https://github.com/firecracker-microvm/firecracker/blob/main/src/firecracker/src/api_server/parsed_request.rs">parsed_request.rs</a>
 */
final class ApiError extends RuntimeException {

    /** Firecracker's {@code VmmActionError::OperationNotSupportedPostBoot}. */
    static final String POST_BOOT = "The requested operation is not supported after starting the microVM.";
    /** Firecracker's {@code VmmActionError::OperationNotSupportedPreBoot}. */
    static final String PRE_BOOT = "The requested operation is not supported before starting the microVM.";

    private final int status;

    ApiError(int status, String faultMessage) {
        super(faultMessage, null, false, false);
        this.status = status;
    }

    /** A 400 Bad Request with {@code faultMessage}. */
    static ApiError badRequest(String faultMessage) {
        return new ApiError(400, faultMessage);
    }

    /** {@return the HTTP status} */
    int status() {
        return status;
    }
}
