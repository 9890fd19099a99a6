/**
 * Firecracker's control plane for Ember: the REST API on a Unix socket, the
 * {@code --config-file}, and the controller behind both.
 *
 * <p>A request travels: {@link dev.ember.server.api.ApiServer} (Jetty 12 on a
 * {@code UnixDomainServerConnector}, body limit 51200 bytes) → {@link dev.ember.server.api.ApiRouter}
 * (path and method to resource, Firecracker's {@code parsed_request.rs}) →
 * {@link dev.ember.server.api.Json} (Jackson into the {@link dev.ember.server.api.ApiModel}
 * records, strict as serde's {@code deny_unknown_fields}, errors worded as serde's) →
 * {@link dev.ember.server.api.VmmController} (pre-boot resources and post-boot actions with
 * Firecracker's rules, {@code rpc_interface.rs}). {@link dev.ember.server.api.ConfigFile} feeds
 * the same records through the same controller methods, so the file and the API cannot drift
 * apart. The controller turns records into {@code dev.ember.config} records and, on
 * {@code InstanceStart}, into a {@code dev.ember.vmm.VirtualMachine}; it reaches the running VM
 * only through {@link dev.ember.server.api.RunningVm}.
 *
 * <p>Reports: {@link dev.ember.server.api.ApiLogger} is the {@code dev.ember.log.LogSink} of the
 * API and of the VM it starts, writing Firecracker's log-file lines once {@code PUT /logger} has
 * named the file. A request's failure is an {@link dev.ember.server.api.ApiError}, which carries
 * its HTTP status; errors from below map to a status by their type (for example
 * {@code dev.ember.mmds.MmdsLimitExceededException} to 413), never by their message's words.
 *
 * <p>Where Ember differs from Firecracker, on purpose:
 * <ul>
 *   <li>{@code GET /} reports {@code "app_name": "ember"} and Ember's version;</li>
 *   <li>{@code PUT /snapshot/create} writes Ember's own state format (see
 *       {@link dev.ember.snapshot.SnapshotFile}); Diff snapshots and the {@code Uffd} memory
 *       backend of {@code PUT /snapshot/load} are not supported yet and answer 400;</li>
 *   <li>vCPUs are limited to 8, SMT, CPU templates and huge pages are refused, vhost-user drives
 *       are refused, and a drive's {@code path_on_host} cannot be changed after boot;</li>
 *   <li>network interfaces need {@code host_dev_name} (a TAP), exactly as Firecracker; Ember's
 *       user-mode network is reachable from {@code ember run --net user} only;</li>
 *   <li>the default kernel command line is {@code console=ttyS0};</li>
 *   <li>methods other than GET, PUT and PATCH get the invalid path/method fault (micro_http
 *       refuses them at the HTTP layer).</li>
 * </ul>
 *
 * <p>May use: {@code dev.ember.config}, {@code dev.ember.vmm}, the balloon device's public API,
 * the errors of {@code boot} and {@code snapshot}, {@code mmds} (the store behind
 * {@code /mmds}), Jetty and Jackson. Nothing else in Ember imports this package except the command line.
 *
 * <p>Package map: uses vmm, config, boot, mmds, snapshot, devices.virtio.balloon, log; libraries com.fasterxml.jackson, org.eclipse.jetty.
 */
package dev.ember.server.api;
