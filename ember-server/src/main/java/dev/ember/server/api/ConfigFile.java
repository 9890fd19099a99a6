package dev.ember.server.api;

import dev.ember.server.api.ApiModel.FullConfig;

/**
 * Firecracker's {@code --config-file}: one JSON object with the keys {@code boot-source},
 * {@code drives}, {@code machine-config}, {@code network-interfaces}, {@code vsock},
 * {@code logger}, {@code metrics}, {@code mmds-config}, {@code balloon} and {@code entropy}
 * ({@code VmmConfig} in Firecracker's {@code src/vmm/src/resources.rs}), each section the same
 * {@link ApiModel} record the API takes and applied through the same {@link VmmController}
 * methods, so the file and the API accept exactly the same things. Unknown keys are rejected; a
 * null section is absent, so the output of {@code GET /vm/config} is a valid config file.
 */
final class ConfigFile {

    private ConfigFile() {
    }

    /**
     * Configures {@code controller} from {@code json} in Firecracker's order, then starts the VM.
     *
     * @throws ApiError with the fault message of the first section that fails
     */
    static void applyAndStart(byte[] json, VmmController controller) {
        FullConfig c = Json.parse(json, FullConfig.class);
        synchronized (controller) {
            if (c.logger() != null) {
                controller.putLogger(c.logger());
            }
            if (c.metrics() != null) {
                controller.putMetrics(c.metrics());
            }
            if (c.machineConfig() != null) {
                controller.putMachine(c.machineConfig());
            }
            if (c.bootSource() != null) {
                controller.putBootSource(c.bootSource());
            }
            if (c.drives() != null) {
                c.drives().forEach(controller::putDrive);
            }
            if (c.networkInterfaces() != null) {
                c.networkInterfaces().forEach(controller::putNet);
            }
            if (c.vsock() != null) {
                controller.putVsock(c.vsock());
            }
            if (c.entropy() != null) {
                controller.putEntropy(c.entropy());
            }
            if (c.shares() != null) {
                c.shares().forEach(controller::putShare);
            }
            if (c.balloon() != null) {
                controller.putBalloon(c.balloon());
            }
            if (c.mmdsConfig() != null) {
                controller.putMmdsConfig(c.mmdsConfig());
            }
            controller.action("InstanceStart");
        }
    }
}
