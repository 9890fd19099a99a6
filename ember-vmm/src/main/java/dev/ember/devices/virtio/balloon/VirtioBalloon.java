package dev.ember.devices.virtio.balloon;

import dev.ember.devices.virtio.ConfigSpace;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The virtio memory balloon (VIRTIO 1.2 §5.5), as Firecracker's: the host sets a target size,
 * the guest driver gives pages to the balloon (inflates) until it reaches it, and the device
 * hands those pages' memory back to the host with {@link GuestMemory#discard}
 * ({@code madvise(MADV_DONTNEED)}), so the VM's resident set shrinks.
 *
 * <pre>
 *   queue 0  inflateq   device-readable le32 PFNs the guest gives up        (§5.5.6.1)
 *   queue 1  deflateq   device-readable le32 PFNs the guest takes back
 *   queue 2  statsq     one device-readable buffer of {tag:le16, val:le64}   (§5.5.6.3)
 *   config   num_pages:le32 (host) | actual:le32 (driver) | free_page_hint_cmd_id:le32 | poison_val:le32   (§5.5.4)
 * </pre>
 *
 * <p>Features (§5.5.3): VIRTIO_BALLOON_F_STATS_VQ always; VIRTIO_BALLOON_F_DEFLATE_ON_OOM when
 * built with {@code deflateOnOom} (the guest may then deflate under memory pressure without
 * asking). VIRTIO_BALLOON_F_MUST_TELL_HOST is not offered: a deflated page needs nothing from
 * the host (it reads as zero when the guest touches it again and is faulted back in), so the
 * deflate queue is only accounted. Free page hinting, page poisoning and page reporting are not
 * offered.
 *
 * <p>PFNs are in 4 KiB units whatever the guest page size (VIRTIO_BALLOON_PFN_SHIFT 12):
 * guest-physical address = PFN &lt;&lt; 12. Contiguous PFNs of one inflate chain are discarded
 * with one call.
 *
 * <p>Statistics (§5.5.6.3): the driver primes the stats queue with one buffer of current
 * values. The device parses it on arrival and keeps it; to ask for fresh values it returns the
 * buffer (used length 0, {@link #requestStatistics}), and the driver refills and re-posts it.
 * A polling interval above zero makes a daemon timer thread ask every so many seconds, as
 * Firecracker's {@code stats_polling_interval_s}.
 *
 * <p>Lifecycle: the target may be set at any time; set before activation, it reaches the
 * driver with a configuration-change interrupt when the device activates. {@link #reset}
 * forgets the queues, the held stats buffer and {@code actual} (a new driver starts with an
 * empty balloon); pages already discarded stay zero. {@link #close} stops the timer.
 *
 * <p><b>Guest-controlled.</b> Every PFN, the chain lengths, the statistics entries and the
 * {@code actual} field. A PFN whose page does not lie wholly inside guest RAM is ignored and
 * counted, so a hostile driver can only discard its own RAM (which it could zero anyway), never
 * host memory beyond it; PFNs beyond {@link #MAX_PFNS_PER_CHAIN} in one chain and stats beyond
 * {@link #MAX_STATS_ENTRIES} are ignored; a trailing partial entry is ignored; unknown stat tags
 * are counted and ignored; a second stats buffer posted while one is held makes the device
 * return the older one. {@code actual} is only reported, never acted on. Nothing a driver
 * writes can make the device throw.
 *
 * <p>Threads: the transport calls in on vCPU threads under this object's monitor; the public
 * methods are called from the API or VMM thread and the stats timer thread, and take the same
 * monitor.
 */
public final class VirtioBalloon implements VirtioDevice {

    /** §5: device ID of a memory balloon. */
    public static final int DEVICE_ID = 5;
    /** §5.5.3: feature bits. */
    public static final int VIRTIO_BALLOON_F_MUST_TELL_HOST = 0, VIRTIO_BALLOON_F_STATS_VQ = 1,
            VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 2;
    /** §5.5.2: queue indices. */
    public static final int INFLATEQ = 0, DEFLATEQ = 1, STATSQ = 2;
    /** §5.5.6: the balloon's page size is 4 KiB whatever the guest's (VIRTIO_BALLOON_PFN_SHIFT). */
    public static final int VIRTIO_BALLOON_PFN_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << VIRTIO_BALLOON_PFN_SHIFT;
    public static final int PAGES_PER_MIB = (1 << 20) / PAGE_SIZE;
    /** Most PFNs taken from one inflate or deflate chain; Linux sends at most 256. */
    public static final int MAX_PFNS_PER_CHAIN = 16384;
    /** Most statistics entries parsed from one buffer; VIRTIO 1.2 defines 10 tags. */
    public static final int MAX_STATS_ENTRIES = 256;

    private static final int STAT_ENTRY_BYTES = 10;   // packed {le16 tag, le64 val}
    private static final int CONFIG_ACTUAL = 4, CONFIG_BYTES = 16;
    private static final int NO_BUFFER = -1;

    private final boolean deflateOnOom;
    private final VirtioBalloonMetrics metrics = new VirtioBalloonMetrics();
    private final long[] pfns = new long[MAX_PFNS_PER_CHAIN];
    private final byte[] pfnBytes = new byte[4 * MAX_PFNS_PER_CHAIN];
    private final MemorySegment pfnSegment = MemorySegment.ofArray(pfnBytes);
    private final EnumMap<VirtioBalloonStat, Long> stats = new EnumMap<>(VirtioBalloonStat.class);
    private Instant statsUpdatedAt;
    private int targetPages;
    private int actualPages;
    private int heldStatsHead = NO_BUFFER;
    private int statsPollingSeconds;
    private ScheduledExecutorService timer;
    private ScheduledFuture<?> polling;
    private boolean closed;
    private VirtioContext context;   // non-null while active

    /**
     * A balloon with Firecracker's configuration ({@code amount_mib}, {@code deflate_on_oom},
     * {@code stats_polling_interval_s}).
     *
     * @param targetMib                   the initial target size in MiB
     * @param deflateOnOom                whether to offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM
     * @param statsPollingIntervalSeconds seconds between statistics requests; 0 asks only on
     *                                    {@link #requestStatistics}
     * @throws IllegalArgumentException if a value is negative or the target exceeds 2^31 pages
     */
    public VirtioBalloon(int targetMib, boolean deflateOnOom, int statsPollingIntervalSeconds) {
        if (statsPollingIntervalSeconds < 0) {
            throw new IllegalArgumentException("stats polling interval must not be negative: " + statsPollingIntervalSeconds);
        }
        this.targetPages = mibToPages(targetMib);
        this.deflateOnOom = deflateOnOom;
        this.statsPollingSeconds = statsPollingIntervalSeconds;
    }

    /** {@return the device's counters} */
    public VirtioBalloonMetrics metrics() {
        return metrics;
    }

    /** {@return whether VIRTIO_BALLOON_F_DEFLATE_ON_OOM is offered} */
    public boolean deflateOnOom() {
        return deflateOnOom;
    }

    /**
     * Sets the balloon's target size ({@code num_pages}) and, if the device is active, tells the
     * driver with a configuration-change interrupt (§5.5.6: the driver SHOULD then inflate or
     * deflate towards it). Legal before and after boot.
     *
     * @param pages 4 KiB pages the guest should give up
     */
    public synchronized void setTargetPages(int pages) {
        if (pages < 0) {
            throw new IllegalArgumentException("target must not be negative: " + pages);
        }
        targetPages = pages;
        if (context != null) {
            metrics.targetChanges.increment();
            context.configChanged();
        }
    }

    /** Sets the target in MiB; see {@link #setTargetPages}. */
    public void setTargetMib(int mib) {
        setTargetPages(mibToPages(mib));
    }

    private static int mibToPages(int mib) {
        if (mib < 0 || mib > Integer.MAX_VALUE / PAGES_PER_MIB) {
            throw new IllegalArgumentException("balloon target out of range: " + mib + " MiB");
        }
        return mib * PAGES_PER_MIB;
    }

    /** {@return the target size in 4 KiB pages} */
    public synchronized int targetPages() {
        return targetPages;
    }

    /** {@return the size the driver last reported in {@code actual}, in 4 KiB pages} */
    public synchronized int actualPages() {
        return actualPages;
    }

    /** {@return the sizes and the latest statistics the guest reported} */
    public synchronized VirtioBalloonStatistics statistics() {
        return new VirtioBalloonStatistics(targetPages & 0xFFFF_FFFFL, actualPages & 0xFFFF_FFFFL,
                statsUpdatedAt, stats);
    }

    /**
     * Asks the driver for fresh statistics by returning the buffer the device holds; the new
     * values arrive when the driver re-posts it.
     *
     * @return whether a request went out: false while inactive, without a stats queue, or while
     *         a request is already outstanding
     */
    public synchronized boolean requestStatistics() {
        Virtqueue queue = context == null ? null : context.queue(STATSQ);
        if (queue == null || heldStatsHead == NO_BUFFER) {
            return false;
        }
        queue.addUsed(heldStatsHead, 0);
        heldStatsHead = NO_BUFFER;
        if (queue.needsInterrupt()) {
            context.usedBuffers();
        }
        return true;
    }

    /** {@return seconds between automatic statistics requests; 0 when off} */
    public synchronized int statsPollingIntervalSeconds() {
        return statsPollingSeconds;
    }

    /** Changes the statistics polling interval; 0 stops polling. Legal before and after boot. */
    public synchronized void setStatsPollingIntervalSeconds(int seconds) {
        if (seconds < 0) {
            throw new IllegalArgumentException("stats polling interval must not be negative: " + seconds);
        }
        statsPollingSeconds = seconds;
        if (context != null) {
            schedulePolling();
        }
    }

    private void schedulePolling() {
        if (polling != null) {
            polling.cancel(false);
            polling = null;
        }
        if (statsPollingSeconds == 0 || closed) {
            return;
        }
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(
                    r -> Thread.ofPlatform().daemon().name("ember-balloon-stats").unstarted(r));
        }
        polling = timer.scheduleAtFixedRate(this::requestStatistics, statsPollingSeconds, statsPollingSeconds,
                TimeUnit.SECONDS);
    }

    @Override
    public int deviceType() {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        return 1L << VIRTIO_BALLOON_F_STATS_VQ | (deflateOnOom ? 1L << VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0);
    }

    @Override
    public int queueCount() {
        return 3;
    }

    @Override
    public synchronized long readConfig(int offset, int width) {
        return ConfigSpace.read(offset, width, CONFIG_BYTES, this::configByte);
    }

    /** One byte of the configuration space; {@link ConfigSpace} asks only for offsets inside it. */
    private int configByte(int offset) {
        int field = offset < 4 ? targetPages : offset < 8 ? actualPages : 0;
        return (field >>> (8 * (offset & 3))) & 0xFF;
    }

    @Override
    public synchronized void writeConfig(int offset, int width, long value) {
        // §5.5.4: only actual is the driver's; bytes of other fields are ignored.
        for (int i = 0; i < width; i++) {
            int o = offset + i;
            if (o >= CONFIG_ACTUAL && o < CONFIG_ACTUAL + 4) {
                int shift = 8 * (o - CONFIG_ACTUAL);
                int b = (int) (value >>> (8 * i)) & 0xFF;
                actualPages = (actualPages & ~(0xFF << shift)) | b << shift;
            }
        }
    }

    @Override
    public synchronized void activate(VirtioContext context) throws VirtqueueViolation {
        this.context = context;
        if (targetPages != actualPages) {
            metrics.targetChanges.increment();
            context.configChanged();   // a target set before boot
        }
        schedulePolling();
        // Linux primes the stats queue (and kicks) before DRIVER_OK, when a notify is not served.
        for (int q = 0; q < queueCount(); q++) {
            drain(q);
        }
    }

    @Override
    public synchronized void queueNotify(int index) throws VirtqueueViolation {
        drain(index);
    }

    @Override
    public synchronized void reset() {
        context = null;
        heldStatsHead = NO_BUFFER;
        actualPages = 0;
        if (polling != null) {
            polling.cancel(false);
            polling = null;
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        context = null;
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
            polling = null;
        }
    }

    private void drain(int index) throws VirtqueueViolation {
        Virtqueue queue = context.queue(index);
        if (queue == null) {
            return;
        }
        boolean used = false;
        do {
            for (DescriptorChain chain; (chain = queue.pop()) != null; ) {
                switch (index) {
                    case INFLATEQ -> {
                        inflate(chain);
                        queue.addUsed(chain.head(), 0);
                        used = true;
                    }
                    case DEFLATEQ -> {
                        deflate(chain);
                        queue.addUsed(chain.head(), 0);
                        used = true;
                    }
                    default -> used |= receiveStats(queue, chain);
                }
            }
        } while (queue.enableNotification());
        if (used && queue.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    /**
     * Reads a chain's PFNs into {@link #pfns}, as unsigned values.
     *
     * @return how many
     */
    private int readPfns(DescriptorChain chain) {
        long bytes = chain.readableBytes();
        if ((bytes & 3) != 0 || bytes > pfnBytes.length || chain.writableBytes() != 0) {
            metrics.badChains.increment();
        }
        // Bounds: at most MAX_PFNS_PER_CHAIN whole entries, whatever the chain's length.
        int count = (int) Math.min(bytes / 4, MAX_PFNS_PER_CHAIN);
        chain.read(0, pfnBytes, 0, 4 * count);
        for (int i = 0; i < count; i++) {
            pfns[i] = pfnSegment.get(GuestMemory.U32, 4L * i) & 0xFFFF_FFFFL;
        }
        return count;
    }

    /** §5.5.6.1: the guest gave these pages up; give their memory back to the host. */
    private void inflate(DescriptorChain chain) {
        int count = readPfns(chain);
        Arrays.sort(pfns, 0, count);
        GuestMemory memory = context.memory();
        long runStart = -1, runEnd = -1;   // pending discard, [runStart, runEnd) in PFNs
        for (int i = 0; i < count; i++) {
            long pfn = pfns[i];
            if (!memory.contains(pfn << VIRTIO_BALLOON_PFN_SHIFT, PAGE_SIZE)) {
                metrics.badPfns.increment();
                continue;
            }
            if (pfn == runEnd) {
                runEnd++;
            } else if (pfn > runEnd) {
                discard(memory, runStart, runEnd);
                runStart = pfn;
                runEnd = pfn + 1;
            }   // else a duplicate of a PFN already in the run
        }
        discard(memory, runStart, runEnd);
    }

    private void discard(GuestMemory memory, long startPfn, long endPfn) {
        if (startPfn < 0) {
            return;
        }
        memory.discard(startPfn << VIRTIO_BALLOON_PFN_SHIFT, (endPfn - startPfn) << VIRTIO_BALLOON_PFN_SHIFT);
        metrics.discardCalls.increment();
        metrics.pagesInflated.add(endPfn - startPfn);
    }

    /** §5.5.6.1: without MUST_TELL_HOST the guest reuses deflated pages at once; only count them. */
    private void deflate(DescriptorChain chain) {
        int count = readPfns(chain);
        GuestMemory memory = context.memory();
        for (int i = 0; i < count; i++) {
            if (memory.contains(pfns[i] << VIRTIO_BALLOON_PFN_SHIFT, PAGE_SIZE)) {
                metrics.pagesDeflated.increment();
            } else {
                metrics.badPfns.increment();
            }
        }
    }

    /**
     * §5.5.6.3: parses a statistics buffer and keeps it until the next request.
     *
     * @return whether a buffer went to the used ring (an older one the driver should not have
     *         left with the device)
     */
    private boolean receiveStats(Virtqueue queue, DescriptorChain chain) {
        boolean returned = false;
        if (heldStatsHead != NO_BUFFER) {
            metrics.statsExtraBuffers.increment();
            queue.addUsed(heldStatsHead, 0);
            returned = true;
        }
        heldStatsHead = chain.head();
        long bytes = chain.readableBytes();
        if (bytes % STAT_ENTRY_BYTES != 0 || bytes > (long) STAT_ENTRY_BYTES * MAX_STATS_ENTRIES
                || chain.writableBytes() != 0) {
            metrics.badChains.increment();
        }
        // Bounds: at most MAX_STATS_ENTRIES whole entries.
        byte[] data = chain.readAll(STAT_ENTRY_BYTES * MAX_STATS_ENTRIES);
        MemorySegment segment = MemorySegment.ofArray(data);
        for (int off = 0; off + STAT_ENTRY_BYTES <= data.length; off += STAT_ENTRY_BYTES) {
            int tag = segment.get(GuestMemory.U16, off) & 0xFFFF;
            long value = segment.get(GuestMemory.U64, off + 2);
            VirtioBalloonStat stat = VirtioBalloonStat.ofTag(tag);
            if (stat == null) {
                metrics.statsUnknownTags.increment();
            } else {
                stats.put(stat, value);
            }
        }
        statsUpdatedAt = Instant.now();
        metrics.statsUpdates.increment();
        return returned;
    }

    /**
     * The balloon's state for snapshots: the target and actual sizes, the statistics buffer the
     * device holds (its head, or -1) and the polling interval. The statistics themselves are
     * not kept; the next poll fills them again.
     */
    public record State(int targetPages, int actualPages, int heldStatsHead, int statsPollingSeconds) { }

    @Override
    public synchronized Record saveState() {
        return new State(targetPages, actualPages, heldStatsHead, statsPollingSeconds);
    }


    @Override
    public synchronized void restoreState(Record state) {
        State s = (State) state;
        if (s.targetPages() < 0 || s.actualPages() < 0 || s.statsPollingSeconds() < 0 || s.heldStatsHead() < NO_BUFFER) {
            throw new IllegalArgumentException("balloon state out of range");
        }
        targetPages = s.targetPages();
        actualPages = s.actualPages();
        heldStatsHead = s.heldStatsHead();
        statsPollingSeconds = s.statsPollingSeconds();
    }

    /** Firecracker's {@code balloon} metrics; it counts queue events, not pages. */
    @Override
    public void reportMetrics(dev.ember.devices.virtio.MetricsSink m, dev.ember.devices.virtio.VirtioMmio transport) {
        var b = metrics();
        m.add("balloon", "inflate_count", transport.notifications(0));
        m.add("balloon", "deflate_count", transport.notifications(1));
        m.add("balloon", "stats_updates_count", b.statsUpdates.sum());
        m.add("balloon", "event_fails", b.badChains.sum());
    }

    /** The balloon {@code config} describes. */
    public static VirtioBalloon create(dev.ember.config.BalloonConfig config) {
        return new VirtioBalloon(config.amountMib(), config.deflateOnOom(), config.statsPollingIntervalS());
    }
}
