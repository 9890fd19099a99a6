package dev.ember.server.api;

import dev.ember.log.Log;
import dev.ember.server.api.ApiModel.Action;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Maps a request (method, path, body) to a {@link VmmController} call and its response, as
 * Firecracker's {@code ParsedRequest::try_from} does ({@code src/firecracker/src/api_server/parsed_request.rs}):
 * the first path segment picks the resource; a GET with a body, a PUT or PATCH without one, an
 * empty or invalid id, a path/body id mismatch and an unknown method or path each get
 * Firecracker's fault message, all with status 400.
 *
 * <p>Threads: {@link #route} is called by the HTTP server's threads; it holds the controller's
 * lock for the whole request so requests take effect one at a time, in order.
 */
final class ApiRouter {

    /** A response: status and JSON body, or null for 204 No Content. */
    record Reply(int status, String body) {
        static final Reply NO_CONTENT = new Reply(204, null);

        static Reply json(Object value) {
            return new Reply(200, value instanceof String s ? s : Json.write(value));
        }
    }

    private final VmmController controller;
    private final Log log;
    private final ApiMetrics metrics;

    ApiRouter(VmmController controller, ApiLogger logger, ApiMetrics metrics) {
        this.controller = controller;
        this.log = Log.of(logger, ApiRouter.class);
        this.metrics = metrics;
    }

    /** Handles one request; {@code body} is null when the request has none. */
    Reply route(String method, String path, byte[] body) {
        String describe = method.charAt(0) + method.substring(1).toLowerCase() + " request on \"" + path + "\""
                + (body == null || path.equals("/mmds") ? "" : " with body \"" + new String(body, StandardCharsets.UTF_8) + "\"");
        log.info("The API server received a " + describe + ".");
        List<String> tokens = tokens(path);
        String resource = tokens.isEmpty() ? "" : tokens.getFirst();
        String group = method.toLowerCase() + "_api_requests";
        String counter = counterName(resource, tokens);
        if (counter != null) {
            metrics.inc(group, counter + "_count");
        }
        Reply reply;
        try {
            synchronized (controller) {
                reply = dispatch(method, resource, tokens.subList(Math.min(1, tokens.size()), tokens.size()).iterator(), body);
            }
        } catch (ApiError e) {
            return refused(e, group, counter);
        } catch (InvalidPathException e) {
            // any other path field (snapshot, metrics, logger, vsock): checked where it is used,
            // before anything changes, so the request is refused whole
            return refused(ApiError.badRequest("Invalid path: " + e.getReason()), group, counter);
        } catch (RuntimeException e) {
            // A defect in Ember, not the client's: answer it, because the server runs this in a
            // future that would swallow the exception and leave the client waiting for good.
            log.error("Internal error on " + method + " " + path, e);
            if (counter != null) {
                metrics.inc(group, counter + "_fails");
            }
            return new Reply(500, Json.faultBody("Internal error: " + e));
        }
        log.info("The request was executed successfully. Status code: "
                + (reply.status() == 204 ? "204 No Content." : "200 OK."));
        return reply;
    }

    private Reply refused(ApiError e, String group, String counter) {
        if (counter != null) {
            metrics.inc(group, counter + "_fails");
        }
        String status = e.status() == 413 ? "413 Payload too large" : "400 Bad Request";
        log.error("Received Error. Status code: " + status + ". Message: " + e.getMessage());
        return new Reply(e.status(), Json.faultBody(e.getMessage()));
    }

    private Reply dispatch(String method, String resource, Iterator<String> rest, byte[] body) {
        switch (method) {
            case "GET" -> {
                if (body != null) {
                    throw ApiError.badRequest("GET request cannot have a body.");
                }
                String next = rest.hasNext() ? rest.next() : null;
                switch (resource) {
                    case "" -> {
                        return Reply.json(controller.instanceInfo());
                    }
                    case "version" -> {
                        return Reply.json(controller.version());
                    }
                    case "machine-config" -> {
                        return Reply.json(controller.machineConfig());
                    }
                    case "mmds" -> {
                        return Reply.json(controller.getMmds());
                    }
                    case "vm" -> {
                        if ("config".equals(next)) {
                            return Reply.json(controller.fullConfig());
                        }
                    }
                    case "balloon" -> {
                        if (next == null) {
                            return Reply.json(controller.getBalloon());
                        }
                        if (next.equals("statistics")) {
                            return Reply.json(controller.balloonStatistics());
                        }
                        throw invalidPath("/balloon/" + next, method);
                    }
                    default -> {
                    }
                }
                throw invalidPath(resource, method);
            }
            case "PUT" -> {
                if (body == null) {
                    throw ApiError.badRequest("Empty PUT request.");
                }
                switch (resource) {
                    case "actions" -> controller.action(Json.parse(body, Action.class).actionType());
                    case "balloon" -> controller.putBalloon(Json.parse(body, ApiModel.Balloon.class));
                    case "boot-source" -> controller.putBootSource(Json.parse(body, ApiModel.BootSource.class));
                    case "drives" -> {
                        String id = checkedId(rest);
                        ApiModel.Drive d = Json.parse(body, ApiModel.Drive.class);
                        matchId(id, d.driveId());
                        controller.putDrive(d);
                    }
                    case "shares" -> {
                        String id = checkedId(rest);
                        ApiModel.Share share = Json.parse(body, ApiModel.Share.class);
                        matchId(id, share.shareId());
                        controller.putShare(share);
                    }
                    case "logger" -> controller.putLogger(Json.parse(body, ApiModel.Logger.class));
                    case "serial" -> controller.putSerial(Json.parse(body, ApiModel.Serial.class));
                    case "machine-config" -> controller.putMachine(Json.parse(body, ApiModel.Machine.class));
                    case "metrics" -> controller.putMetrics(Json.parse(body, ApiModel.Metrics.class));
                    case "mmds" -> {
                        String next = rest.hasNext() ? rest.next() : null;
                        if (next == null) {
                            controller.putMmds(Json.parseTree(body));
                        } else if (next.equals("config")) {
                            controller.putMmdsConfig(Json.parse(body, ApiModel.Mmds.class));
                        } else {
                            throw invalidPath("/mmds/" + next, method);
                        }
                    }
                    case "network-interfaces" -> {
                        String id = checkedId(rest);
                        ApiModel.NetworkInterface n = Json.parse(body, ApiModel.NetworkInterface.class);
                        matchId(id, n.ifaceId());
                        controller.putNet(n);
                    }
                    case "snapshot" -> {
                        String op = rest.hasNext() ? rest.next() : null;
                        if (op == null) {
                            throw ApiError.badRequest("Missing snapshot operation type.");
                        }
                        if (!op.equals("create") && !op.equals("load")) {
                            throw invalidPath("/snapshot/" + op, method);
                        }
                        if (op.equals("create")) {
                            controller.createSnapshot(Json.parse(body, ApiModel.SnapshotCreate.class));
                        } else {
                            controller.loadSnapshot(Json.parse(body, ApiModel.SnapshotLoad.class));
                        }
                    }
                    case "vsock" -> controller.putVsock(Json.parse(body, ApiModel.Vsock.class));
                    case "entropy" -> controller.putEntropy(Json.parse(body, ApiModel.Entropy.class));
                    default -> throw invalidPath(resource, method);
                }
                return Reply.NO_CONTENT;
            }
            case "PATCH" -> {
                if (body == null) {
                    throw ApiError.badRequest("Empty PATCH request.");
                }
                switch (resource) {
                    case "balloon" -> {
                        String next = rest.hasNext() ? rest.next() : null;
                        if (next == null) {
                            controller.patchBalloon(Json.parse(body, ApiModel.BalloonUpdate.class));
                        } else if (next.equals("statistics")) {
                            controller.patchBalloonStatistics(Json.parse(body, ApiModel.BalloonStatsUpdate.class));
                        } else {
                            throw invalidPath("/balloon/" + next, method);
                        }
                    }
                    case "drives" -> {
                        String id = checkedId(rest);
                        ApiModel.DriveUpdate u = Json.parse(body, ApiModel.DriveUpdate.class);
                        matchId(id, u.driveId());
                        controller.patchDrive(u);
                    }
                    case "machine-config" -> controller.patchMachine(Json.parse(body, ApiModel.MachineUpdate.class));
                    case "mmds" -> controller.patchMmds(Json.parseTree(body));
                    case "network-interfaces" -> {
                        String id = checkedId(rest);
                        ApiModel.NetworkInterfaceUpdate u = Json.parse(body, ApiModel.NetworkInterfaceUpdate.class);
                        matchId(id, u.ifaceId());
                        controller.patchNet(u);
                    }
                    case "vm" -> controller.patchVm(Json.parse(body, ApiModel.VmState.class).state());
                    default -> throw invalidPath(resource, method);
                }
                return Reply.NO_CONTENT;
            }
            default -> throw invalidPath(resource, method);
        }
    }

    /** Firecracker's {@code RequestError::InvalidPathMethod}: the first path segment and the method. */
    private static ApiError invalidPath(String path, String method) {
        return ApiError.badRequest("Invalid request method and/or path: " + method + " " + path + ".");
    }

    /** Firecracker's {@code checked_id}: present, non-empty, alphanumeric or underscore. */
    private static String checkedId(Iterator<String> rest) {
        String id = rest.hasNext() ? rest.next() : "";
        if (id.isEmpty()) {
            throw ApiError.badRequest("The ID cannot be empty.");
        }
        if (!id.chars().allMatch(c -> c == '_' || Character.isLetterOrDigit(c))) {
            throw ApiError.badRequest("API Resource IDs can only contain alphanumeric characters and underscores.");
        }
        return id;
    }

    private static void matchId(String fromPath, String fromBody) {
        if (!fromPath.equals(fromBody)) {
            throw ApiError.badRequest("The id from the path does not match the id from the body!");
        }
    }

    /** Splits as Rust's {@code trim_start_matches('/').split_terminator('/')}. */
    static List<String> tokens(String path) {
        String trimmed = path.replaceFirst("^/+", "");
        if (trimmed.isEmpty()) {
            return List.of();
        }
        if (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        return Arrays.asList(trimmed.split("/", -1));
    }

    /** {@return Firecracker's metric name for a resource, e.g. drive for /drives} */
    private static String counterName(String resource, List<String> tokens) {
        return switch (resource) {
            case "" -> "instance_info";
            case "version" -> "vmm_version";
            case "actions" -> "actions";
            case "balloon" -> tokens.size() > 1 ? "balloon_stats" : "balloon";
            case "boot-source" -> "boot_source";
            case "drives" -> "drive";
            case "network-interfaces" -> "network";
            case "machine-config" -> "machine_cfg";
            case "logger" -> "logger";
            case "metrics" -> "metrics";
            case "mmds" -> "mmds";
            case "vsock" -> "vsock";
            case "entropy" -> "entropy";
            case "shares" -> "share";
            case "serial" -> "serial";
            case "vm" -> "vm";
            default -> null;
        };
    }
}
