package dev.ember.server.api;

import static dev.ember.server.api.Json.require;
import static dev.ember.server.api.Json.unsigned;
import static dev.ember.server.api.Json.variant;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.ember.config.BalloonConfig;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.CpuFeatures;
import dev.ember.config.EngineConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.LoggerConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.MetricsConfig;
import dev.ember.config.MmdsConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import dev.ember.config.ShareConfig;
import dev.ember.config.VsockConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * The JSON bodies of Firecracker's API (swagger v1.x definitions) as Jackson records, with the
 * mapping to Ember's config records. The config file ({@link ConfigFile}) is made of the same
 * records, so the API and the file cannot drift apart.
 *
 * <p>Field names are Firecracker's snake_case; every record rejects unknown fields (serde's
 * {@code deny_unknown_fields}); {@link Json.Checked#check} enforces the required fields and the
 * unsigned ranges of the Rust structs. Records are values; mapping methods throw
 * {@link IllegalArgumentException} with the config record's message when a value is out of
 * Ember's range.
 *
 * @see <a href="https://github.com/firecracker-microvm/firecracker/blob/main/src/firecracker/swagger/firecracker.yaml">firecracker.yaml</a>
 */
final class ApiModel {

    static final long U8 = 0xFF, U16 = 0xFFFF, U32 = 0xFFFF_FFFFL, U64 = Long.MAX_VALUE;

    private ApiModel() {
    }

    /** {@code BootSource}: the kernel, initrd and command line. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record BootSource(@JsonProperty("kernel_image_path") String kernelImagePath,
                      @JsonProperty("initrd_path") String initrdPath,
                      @JsonProperty("boot_args") String bootArgs) implements Json.Checked {
        @Override
        public void check() {
            require("kernel_image_path", kernelImagePath);
        }

        BootSourceConfig toConfig() {
            return new BootSourceConfig(Path.of(kernelImagePath), initrdPath == null ? null : Path.of(initrdPath), bootArgs);
        }
    }

    /** {@code MachineConfiguration}, for PUT (vcpu_count and mem_size_mib required) and as stored. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Machine(@JsonProperty("vcpu_count") Integer vcpuCount,
                   @JsonProperty("mem_size_mib") Integer memSizeMib,
                   @JsonProperty("smt") Boolean smt,
                   @JsonProperty("cpu_template") String cpuTemplate,
                   @JsonProperty("track_dirty_pages") Boolean trackDirtyPages,
                   @JsonProperty("huge_pages") String hugePages,
                   @JsonProperty("engine") String engine,
                   @JsonProperty("jit_threshold") Integer jitThreshold,
                   @JsonProperty("cpu_features") String cpuFeatures) implements Json.Checked {

        static final Machine DEFAULT = new Machine(1, 128, false, null, false, "None",
                EngineConfig.DEFAULT.kind().apiName(), EngineConfig.DEFAULT_THRESHOLD, null);

        @Override
        public void check() {
            require("vcpu_count", vcpuCount);
            require("mem_size_mib", memSizeMib);
            checkRanges();
        }

        void checkRanges() {
            unsigned(vcpuCount, U8, "u8");
            unsigned(memSizeMib, Integer.MAX_VALUE, "usize");
            variant(cpuTemplate, "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None");
            variant(hugePages, "None", "2M");
            if (cpuFeatures != null) {
                try {
                    CpuFeatures.parse(cpuFeatures);
                } catch (IllegalArgumentException e) {
                    throw ApiError.badRequest("Machine config error: cpu_features: " + e.getMessage());
                }
            }
        }

        /** {@return this update applied on {@code base}: absent fields keep their value} */
        Machine over(Machine base) {
            return new Machine(vcpuCount != null ? vcpuCount : base.vcpuCount,
                    memSizeMib != null ? memSizeMib : base.memSizeMib,
                    smt != null ? smt : base.smt,
                    null,
                    trackDirtyPages != null ? trackDirtyPages : base.trackDirtyPages,
                    hugePages != null ? hugePages : base.hugePages,
                    engine != null ? engine : base.engine,
                    jitThreshold != null ? jitThreshold : base.jitThreshold,
                    cpuFeatures != null ? CpuFeatures.parse(cpuFeatures).toString() : base.cpuFeatures);
        }

        boolean isEmpty() {
            return vcpuCount == null && memSizeMib == null && smt == null && cpuTemplate == null
                    && trackDirtyPages == null && hugePages == null && engine == null && jitThreshold == null
                    && cpuFeatures == null;
        }

        /** @throws IllegalArgumentException for an engine other than interp and jit, or a threshold out of range */
        MachineConfig toConfig() {
            return new MachineConfig(vcpuCount, memSizeMib, smt, trackDirtyPages,
                    new EngineConfig(EngineConfig.Kind.parse(engine), jitThreshold),
                    cpuFeatures == null ? CpuFeatures.NONE : CpuFeatures.parse(cpuFeatures));
        }
    }

    /** {@code MachineConfiguration} for PATCH: every field optional, at least one present. */
    record MachineUpdate(@JsonProperty("vcpu_count") Integer vcpuCount,
                         @JsonProperty("mem_size_mib") Integer memSizeMib,
                         @JsonProperty("smt") Boolean smt,
                         @JsonProperty("cpu_template") String cpuTemplate,
                         @JsonProperty("track_dirty_pages") Boolean trackDirtyPages,
                         @JsonProperty("huge_pages") String hugePages,
                         @JsonProperty("engine") String engine,
                         @JsonProperty("jit_threshold") Integer jitThreshold,
                         @JsonProperty("cpu_features") String cpuFeatures) implements Json.Checked {
        @Override
        public void check() {
            asMachine().checkRanges();
        }

        Machine asMachine() {
            return new Machine(vcpuCount, memSizeMib, smt, cpuTemplate, trackDirtyPages, hugePages, engine, jitThreshold,
                    cpuFeatures);
        }
    }

    /** {@code TokenBucket}: size and refill_time required; a zero in either disables the bucket. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record TokenBucket(@JsonProperty("size") Long size,
                       @JsonProperty("one_time_burst") Long oneTimeBurst,
                       @JsonProperty("refill_time") Long refillTime) implements Json.Checked {
        @Override
        public void check() {
            require("size", size);
            require("refill_time", refillTime);
            unsigned(size, U64, "u64");
            unsigned(oneTimeBurst, U64, "u64");
            unsigned(refillTime, U64, "u64");
        }

        /** {@return the bucket; a zero size or refill_time makes it disabled, as Firecracker's TokenBucket::new} */
        TokenBucketConfig toConfig() {
            return new TokenBucketConfig(size, oneTimeBurst == null ? 0 : oneTimeBurst, refillTime);
        }

        static TokenBucket of(TokenBucketConfig c) {
            return c == null || c.disabled() ? null : new TokenBucket(c.size(), c.oneTimeBurst(), c.refillTimeMs());
        }
    }

    /** {@code RateLimiter}: optional bandwidth (bytes) and ops buckets. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record RateLimiter(@JsonProperty("bandwidth") TokenBucket bandwidth,
                       @JsonProperty("ops") TokenBucket ops) implements Json.Checked {
        @Override
        public void check() {
            if (bandwidth != null) {
                bandwidth.check();
            }
            if (ops != null) {
                ops.check();
            }
        }

        RateLimiterConfig toConfig() {
            return new RateLimiterConfig(bandwidth == null ? null : bandwidth.toConfig(), ops == null ? null : ops.toConfig());
        }

        /**
         * {@return {@code current} updated with the buckets this update names: absent buckets stay
         * as they are, a disabled one is removed (Firecracker's {@code RateLimiterUpdate})}
         */
        RateLimiterConfig updating(RateLimiterConfig current) {
            RateLimiterConfig base = current == null ? RateLimiterConfig.UNLIMITED : current;
            return new RateLimiterConfig(bandwidth != null ? enabled(bandwidth.toConfig()) : base.bandwidth(),
                    ops != null ? enabled(ops.toConfig()) : base.ops());
        }

        private static TokenBucketConfig enabled(TokenBucketConfig c) {
            return c.disabled() ? null : c;
        }

        static RateLimiter of(RateLimiterConfig c) {
            RateLimiter r = c == null ? null : new RateLimiter(TokenBucket.of(c.bandwidth()), TokenBucket.of(c.ops()));
            return r == null || (r.bandwidth == null && r.ops == null) ? null : r;
        }

        static RateLimiterConfig config(RateLimiter r) {
            return r == null ? null : r.toConfig();
        }

        static void check(RateLimiter r) {
            if (r != null) {
                r.check();
            }
        }
    }

    /** {@code Drive}: a virtio-blk device backed by a host file. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Drive(@JsonProperty("drive_id") String driveId,
                 @JsonProperty("partuuid") String partuuid,
                 @JsonProperty("is_root_device") Boolean isRootDevice,
                 @JsonProperty("cache_type") String cacheType,
                 @JsonProperty("is_read_only") Boolean isReadOnly,
                 @JsonProperty("path_on_host") String pathOnHost,
                 @JsonProperty("rate_limiter") RateLimiter rateLimiter,
                 @JsonProperty("io_engine") String ioEngine,
                 @JsonProperty("socket") String socket) implements Json.Checked {
        @Override
        public void check() {
            require("drive_id", driveId);
            require("is_root_device", isRootDevice);
            variant(cacheType, "Unsafe", "Writeback");
            variant(ioEngine, "Sync", "Async");
            RateLimiter.check(rateLimiter);
        }

        DriveConfig toConfig() {
            return new DriveConfig(driveId, pathOnHost == null ? null : Path.of(pathOnHost), isRootDevice,
                    isReadOnly != null && isReadOnly, RateLimiter.config(rateLimiter));
        }

        Drive withRateLimiter(RateLimiterConfig c) {
            return new Drive(driveId, partuuid, isRootDevice, cacheType, isReadOnly, pathOnHost, RateLimiter.of(c), ioEngine, socket);
        }
    }

    /** {@code PartialDrive}: PATCH /drives/{id}. */
    record DriveUpdate(@JsonProperty("drive_id") String driveId,
                       @JsonProperty("path_on_host") String pathOnHost,
                       @JsonProperty("rate_limiter") RateLimiter rateLimiter) implements Json.Checked {
        @Override
        public void check() {
            require("drive_id", driveId);
            RateLimiter.check(rateLimiter);
        }
    }

    /** {@code NetworkInterface}: a virtio-net device on a host TAP ({@code host_dev_name} required). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record NetworkInterface(@JsonProperty("iface_id") String ifaceId,
                            @JsonProperty("guest_mac") String guestMac,
                            @JsonProperty("host_dev_name") String hostDevName,
                            @JsonProperty("rx_rate_limiter") RateLimiter rxRateLimiter,
                            @JsonProperty("tx_rate_limiter") RateLimiter txRateLimiter) implements Json.Checked {
        @Override
        public void check() {
            require("iface_id", ifaceId);
            require("host_dev_name", hostDevName);
            RateLimiter.check(rxRateLimiter);
            RateLimiter.check(txRateLimiter);
        }

        NetworkInterfaceConfig toConfig() {
            return new NetworkInterfaceConfig(ifaceId, guestMac, hostDevName, List.of(),
                    RateLimiter.config(rxRateLimiter), RateLimiter.config(txRateLimiter));
        }

        NetworkInterface withRateLimiters(RateLimiterConfig rx, RateLimiterConfig tx) {
            return new NetworkInterface(ifaceId, guestMac, hostDevName, RateLimiter.of(rx), RateLimiter.of(tx));
        }
    }

    /** {@code PartialNetworkInterface}: PATCH /network-interfaces/{id}, rate limiters only. */
    record NetworkInterfaceUpdate(@JsonProperty("iface_id") String ifaceId,
                                  @JsonProperty("rx_rate_limiter") RateLimiter rxRateLimiter,
                                  @JsonProperty("tx_rate_limiter") RateLimiter txRateLimiter) implements Json.Checked {
        @Override
        public void check() {
            require("iface_id", ifaceId);
            RateLimiter.check(rxRateLimiter);
            RateLimiter.check(txRateLimiter);
        }
    }

    /** {@code Vsock}: {@code vsock_id} is accepted and ignored, as Firecracker deprecates it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Vsock(@JsonProperty("vsock_id") String vsockId,
                 @JsonProperty("guest_cid") Long guestCid,
                 @JsonProperty("uds_path") String udsPath) implements Json.Checked {
        @Override
        public void check() {
            require("guest_cid", guestCid);
            require("uds_path", udsPath);
            unsigned(guestCid, U32, "u32");
        }

        VsockConfig toConfig() {
            return new VsockConfig(guestCid, Path.of(udsPath));
        }
    }

    /**
     * {@code Share}: Ember's own resource, {@code PUT /shares/{share_id}} (Firecracker has no
     * virtio-fs): a host directory the guest mounts with {@code mount -t virtiofs TAG /mnt}.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Share(@JsonProperty("share_id") String shareId,
                 @JsonProperty("tag") String tag,
                 @JsonProperty("path_on_host") String pathOnHost,
                 @JsonProperty("is_read_only") Boolean isReadOnly) implements Json.Checked {
        @Override
        public void check() {
            require("share_id", shareId);
            require("tag", tag);
            require("path_on_host", pathOnHost);
        }

        ShareConfig toConfig() {
            return new ShareConfig(tag, Path.of(pathOnHost), isReadOnly != null && isReadOnly);
        }
    }

    /** {@code EntropyDevice}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Entropy(@JsonProperty("rate_limiter") RateLimiter rateLimiter) implements Json.Checked {
        @Override
        public void check() {
            RateLimiter.check(rateLimiter);
        }

        EntropyConfig toConfig() {
            return new EntropyConfig(RateLimiter.config(rateLimiter));
        }
    }

    /** {@code Balloon}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Balloon(@JsonProperty("amount_mib") Integer amountMib,
                   @JsonProperty("deflate_on_oom") Boolean deflateOnOom,
                   @JsonProperty("stats_polling_interval_s") Integer statsPollingIntervalS) implements Json.Checked {
        @Override
        public void check() {
            require("amount_mib", amountMib);
            require("deflate_on_oom", deflateOnOom);
            unsigned(amountMib, Integer.MAX_VALUE, "u32");
            unsigned(statsPollingIntervalS, U16, "u16");
        }

        BalloonConfig toConfig() {
            return new BalloonConfig(amountMib, deflateOnOom, statsPollingIntervalS == null ? 0 : statsPollingIntervalS);
        }

        int interval() {
            return statsPollingIntervalS == null ? 0 : statsPollingIntervalS;
        }
    }

    /** {@code BalloonUpdate}: PATCH /balloon. */
    record BalloonUpdate(@JsonProperty("amount_mib") Integer amountMib) implements Json.Checked {
        @Override
        public void check() {
            require("amount_mib", amountMib);
            unsigned(amountMib, Integer.MAX_VALUE, "u32");
        }
    }

    /** {@code BalloonStatsUpdate}: PATCH /balloon/statistics. */
    record BalloonStatsUpdate(@JsonProperty("stats_polling_interval_s") Integer statsPollingIntervalS) implements Json.Checked {
        @Override
        public void check() {
            require("stats_polling_interval_s", statsPollingIntervalS);
            unsigned(statsPollingIntervalS, U16, "u16");
        }
    }

    /** {@code Logger}. Levels as Firecracker spells them; its older upper-case forms are accepted too. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Logger(@JsonProperty("log_path") String logPath,
                  @JsonProperty("level") String level,
                  @JsonProperty("show_level") Boolean showLevel,
                  @JsonProperty("show_log_origin") Boolean showLogOrigin,
                  @JsonProperty("module") String module) implements Json.Checked {
        @Override
        public void check() {
            require("log_path", logPath);
            if (level != null) {
                variant(normalLevel(level), "Off", "Error", "Warning", "Info", "Debug", "Trace");
            }
        }

        LoggerConfig toConfig() {
            return new LoggerConfig(Path.of(logPath), level == null ? null : normalLevel(level),
                    showLevel != null && showLevel, showLogOrigin != null && showLogOrigin);
        }

        private static String normalLevel(String level) {
            for (String l : LoggerConfig.LEVELS) {
                if (l.equalsIgnoreCase(level) || (l.equals("Warning") && level.equalsIgnoreCase("warn"))) {
                    return l;
                }
            }
            return level;
        }
    }

    /** {@code Metrics}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Metrics(@JsonProperty("metrics_path") String metricsPath) implements Json.Checked {
        @Override
        public void check() {
            require("metrics_path", metricsPath);
        }

        MetricsConfig toConfig() {
            return new MetricsConfig(Path.of(metricsPath));
        }
    }

    /** {@code MmdsConfig}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Mmds(@JsonProperty("version") String version,
                @JsonProperty("network_interfaces") List<String> networkInterfaces,
                @JsonProperty("ipv4_address") String ipv4Address) implements Json.Checked {
        @Override
        public void check() {
            require("network_interfaces", networkInterfaces);
            variant(version, "V1", "V2");
        }

        MmdsConfig toConfig() {
            return new MmdsConfig(version, networkInterfaces, ipv4Address);
        }
    }

    /** {@code SerialDevice}: where the guest's serial output goes instead of stdout. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Serial(@JsonProperty("serial_out_path") String serialOutPath) implements Json.Checked {
        @Override
        public void check() {
        }
    }

    /** {@code InstanceActionInfo}. */
    record Action(@JsonProperty("action_type") String actionType) implements Json.Checked {
        @Override
        public void check() {
            require("action_type", actionType);
            variant(actionType, "FlushMetrics", "InstanceStart", "SendCtrlAltDel");
        }
    }

    /** {@code Vm}: PATCH /vm. */
    record VmState(@JsonProperty("state") String state) implements Json.Checked {
        @Override
        public void check() {
            require("state", state);
            variant(state, "Paused", "Resumed");
        }
    }

    /** {@code InstanceInfo}: GET /. */
    record InstanceInfo(@JsonProperty("id") String id, @JsonProperty("state") String state,
                        @JsonProperty("vmm_version") String vmmVersion, @JsonProperty("app_name") String appName) {
    }

    /**
     * {@code FullVmConfiguration}: GET /vm/config, and the {@code --config-file} format. Absent
     * sections are written as null (as Firecracker does) and read back as absent.
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record FullConfig(@JsonProperty("balloon") Balloon balloon,
                      @JsonProperty("drives") List<Drive> drives,
                      @JsonProperty("boot-source") BootSource bootSource,
                      @JsonProperty("logger") Logger logger,
                      @JsonProperty("machine-config") Machine machineConfig,
                      @JsonProperty("metrics") Metrics metrics,
                      @JsonProperty("mmds-config") Mmds mmdsConfig,
                      @JsonProperty("network-interfaces") List<NetworkInterface> networkInterfaces,
                      @JsonProperty("vsock") Vsock vsock,
                      @JsonProperty("entropy") Entropy entropy,
                      @JsonProperty("shares") List<Share> shares) implements Json.Checked {
        @Override
        public void check() {
            for (Json.Checked c : new Json.Checked[] {balloon, bootSource, logger, machineConfig, metrics, mmdsConfig, vsock, entropy}) {
                if (c != null) {
                    c.check();
                }
            }
            for (List<? extends Json.Checked> list : List.of(drives == null ? List.<Drive>of() : drives,
                    networkInterfaces == null ? List.<NetworkInterface>of() : networkInterfaces,
                    shares == null ? List.<Share>of() : shares)) {
                for (Json.Checked c : list) {
                    if (c == null) {
                        throw new Json.FieldError("invalid type: null, expected a map");
                    }
                    c.check();
                }
            }
        }
    }

    /** {@code SnapshotCreateParams}: where to write the state and memory files, Full or Diff. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record SnapshotCreate(@JsonProperty("snapshot_type") String snapshotType,
                          @JsonProperty("snapshot_path") String snapshotPath,
                          @JsonProperty("mem_file_path") String memFilePath,
                          @JsonProperty("version") String version) implements Json.Checked {
        @Override
        public void check() {
            require("snapshot_path", snapshotPath);
            require("mem_file_path", memFilePath);
            variant(snapshotType, "Full", "Diff");
        }

        boolean diff() {
            return "Diff".equals(snapshotType);
        }
    }

    /** {@code MemoryBackend}: where a loaded snapshot's guest memory comes from. */
    record MemoryBackend(@JsonProperty("backend_type") String backendType,
                         @JsonProperty("backend_path") String backendPath) implements Json.Checked {
        @Override
        public void check() {
            require("backend_type", backendType);
            require("backend_path", backendPath);
            variant(backendType, "File", "Uffd");
        }
    }

    /** {@code NetworkOverride}: the host device a restored interface attaches to instead. */
    record NetworkOverride(@JsonProperty("iface_id") String ifaceId,
                           @JsonProperty("host_dev_name") String hostDevName) implements Json.Checked {
        @Override
        public void check() {
            require("iface_id", ifaceId);
            require("host_dev_name", hostDevName);
        }
    }

    /** {@code VsockOverride}: the Unix socket a restored vsock device listens on instead. */
    record VsockOverride(@JsonProperty("uds_path") String udsPath) implements Json.Checked {
        @Override
        public void check() {
            require("uds_path", udsPath);
        }
    }

    /**
     * {@code SnapshotLoadParams}. Exactly one of {@code mem_backend} and the deprecated
     * {@code mem_file_path}; {@code enable_diff_snapshots} is the deprecated name of
     * {@code track_dirty_pages}.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record SnapshotLoad(@JsonProperty("snapshot_path") String snapshotPath,
                        @JsonProperty("mem_file_path") String memFilePath,
                        @JsonProperty("mem_backend") MemoryBackend memBackend,
                        @JsonProperty("enable_diff_snapshots") Boolean enableDiffSnapshots,
                        @JsonProperty("track_dirty_pages") Boolean trackDirtyPages,
                        @JsonProperty("resume_vm") Boolean resumeVm,
                        @JsonProperty("network_overrides") List<NetworkOverride> networkOverrides,
                        @JsonProperty("vsock_override") VsockOverride vsockOverride) implements Json.Checked {
        @Override
        public void check() {
            require("snapshot_path", snapshotPath);
            if (memBackend != null) {
                memBackend.check();
            }
            if (networkOverrides != null) {
                networkOverrides.forEach(NetworkOverride::check);
            }
            if (vsockOverride != null) {
                vsockOverride.check();
            }
        }
    }
}
