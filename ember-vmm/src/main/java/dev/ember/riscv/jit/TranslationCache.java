package dev.ember.riscv.jit;

import dev.ember.log.Log;
import dev.ember.log.LogSink;
import dev.ember.memory.CodePages;
import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.interp.DecodedPages;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One machine's translated code, shared by its harts: regions keyed by the RAM offset of their
 * entry and the mode bits that change what the code means, as QEMU keys translation blocks by
 * physical address and CPU flags. A {@code satp} write, an {@code SFENCE.VMA} or a privilege
 * change therefore throws no translation away; only writes to a page of code do
 * ({@link #codeWritten}, through {@link CodePages}).
 *
 * <p>The mode ({@link #mode}) is the privilege level, whether the FPU is on, and the H
 * extension's V: the first decides what CSR accesses and fetches mean, the second whether FP
 * instructions trap, the third which status registers an FP instruction marks dirty. The
 * VMID and the guest's page tables are no part of it: a region is keyed by the host RAM it was
 * translated from, which means the same in every guest. Data
 * accesses need no mode bits, because their TLB key ({@code mstatus} MPRV, SUM, MXR) is read
 * when a region starts and any write to it ends the region.
 *
 * <p>Hotness: a block is translated when it has started {@code threshold} times, counted in a
 * fixed table of counters hashed by address (collisions only make some code hot a little early).
 * Threshold 0 translates code the first time it runs.
 *
 * <p>Bounded: at most {@link #MAX_REGIONS} regions and {@link #MAX_CLASS_BYTES} bytes of bytecode
 * live at once. Beyond that the whole cache is dropped and rebuilt from hot code, as QEMU does
 * when its code buffer fills; dropped regions are no longer referenced by the cache, their links
 * or (after the harts see the new {@link #epoch}) the jump caches, so HotSpot unloads their
 * hidden classes and compiled code.
 *
 * <p>Threads: lookups are lock-free. Translation runs on the cache's translator thread (the
 * harts go on interpreting until their region appears), or, when the cache is made without one,
 * on the vCPU thread that needs the code. Either way a region is installed under this object's
 * monitor, together with invalidation, so a region translated from bytes that changed meanwhile
 * is never installed (the page's {@code generation}).
 */
public final class TranslationCache implements CodePages.Listener {

    /** The most live regions. */
    public static final int MAX_REGIONS = 16_384;
    /** The most class-file bytes of live regions. */
    public static final long MAX_CLASS_BYTES = 32L << 20;
    /** The most guest instructions in one region. */
    static final int MAX_REGION_INSTRUCTIONS = 200;

    private static final int HEAT_BITS = 16;
    private static final int CHUNK_BITS = 9;
    private static final MethodHandles.Lookup LOOKUP = MethodHandles.lookup();
    private static final AtomicLong CLASS_NUMBERS = new AtomicLong();

    /** The regions of one page, and the page's generation. */
    private static final class PageEntry {
        final ConcurrentHashMap<Integer, Region> regions = new ConcurrentHashMap<>();
        int generation;
        /** Writes to the page that missed its regions, since they were last dropped. */
        int dataWrites;
    }

    /**
     * Writes that miss a page's code before the page's regions are dropped anyway, as QEMU drops
     * a page's blocks on its first writes: a page of code that has become data would otherwise
     * keep every store to it on the slow path for good, while a page that really holds hot code
     * next to busy data is translated again at most once per this many stores.
     */
    static final int DATA_WRITES_BEFORE_DROP = 1024;

    private final GuestMemory ram;
    private final MemorySegment seg;
    private final CodePages codePages;
    private final DecodedPages decoded;
    private final int threshold;
    private final PageEntry[][] directory;
    private final int[] heat = new int[1 << HEAT_BITS];
    private final ConcurrentHashMap<Long, Boolean> untranslatable = new ConcurrentHashMap<>();
    private volatile long epoch;

    // Counters; written under the monitor, read racily for statistics.
    private long translated;
    private long invalidated;
    private long evicted;
    private long failed;
    private long flushes;
    private int live;
    private long liveInstructions;
    private long liveClassBytes;
    private final AtomicLong translationNanos = new AtomicLong();
    private final AtomicInteger warnings = new AtomicInteger();
    private final Log log;

    /**
     * A cache for the machine whose RAM is {@code ram}.
     *
     * @param decoded   the interpreter's decoded pages, read to see which code has run
     * @param threshold starts before a block is translated; 0 for at once
     */
    public TranslationCache(GuestMemory ram, DecodedPages decoded, int threshold) {
        this(ram, decoded, threshold, false, "ember-jit", LogSink.systemLogger());
    }

    /**
     * A cache for the machine whose RAM is {@code ram}.
     *
     * @param decoded    the interpreter's decoded pages, read to see which code has run
     * @param threshold  starts before a block is translated; 0 for at once
     * @param background translate on a thread of its own (named {@code threadName}), so the
     *                   harts never wait for the translator; with false, the hart that finds a
     *                   hot block translates it before it goes on, which makes runs repeatable
     * @param log        the VM's sink: the first three failures to translate, at WARN with their exception
     */
    public TranslationCache(GuestMemory ram, DecodedPages decoded, int threshold, boolean background, String threadName,
                            LogSink log) {
        this.log = Log.of(log, TranslationCache.class);
        this.background = background;
        this.threadName = threadName;
        this.ram = ram;
        this.seg = ram.segment();
        this.codePages = ram.codePages();
        this.decoded = decoded;
        this.threshold = threshold;
        this.directory = new PageEntry[(int) ((codePages.pageCount() + (1 << CHUNK_BITS) - 1) >>> CHUNK_BITS)][];
        codePages.addListener(this);
    }

    /** Bits of a mode key: the privilege level (0-1), FPU on (2), V (3). */
    static final int MODE_BITS = 4;
    static final int MODES = 1 << MODE_BITS;

    /**
     * {@return the mode key of the hart's current state: the privilege level, 4 when the FPU is
     * on, and 8 with V=1 (H extension), whose FP instructions also mark {@code vsstatus} dirty}
     */
    public static int mode(Hart h) {
        return h.priv | (h.fpEnabled() ? 4 : 0) | (h.virt ? 8 : 0);
    }

    /** {@return whether code translated for {@code mode} runs with V=1} */
    static boolean virtual(int mode) {
        return (mode & 8) != 0;
    }

    /** {@return whether code translated for {@code mode} may execute FP instructions} */
    static boolean fpEnabled(int mode) {
        return (mode & 4) != 0;
    }

    /** {@return a number that changes whenever the whole cache is dropped} */
    long epoch() {
        return epoch;
    }

    /** Whether hot code is translated on a thread of its own rather than by the hart that found it. */
    private final boolean background;
    private final String threadName;
    private final ArrayBlockingQueue<Long> requests = new ArrayBlockingQueue<>(256);
    private final Set<Long> pending = ConcurrentHashMap.newKeySet();
    private Thread translator;
    private volatile boolean closed;

    /**
     * Asks for the region entered at RAM offset {@code hostOffset} in {@code mode} to be
     * translated on the cache's translator thread; the hart goes on interpreting meanwhile, and
     * finds the region when it comes back. A request already pending, or one that does not fit
     * in the queue, is dropped: the block will be hot again.
     */
    void request(long hostOffset, int mode) {
        long key = hostOffset << MODE_BITS | mode;
        if (closed || !pending.add(key)) {
            return;
        }
        if (!requests.offer(key)) {
            pending.remove(key);
            return;
        }
        synchronized (this) {
            if (translator == null && !closed) {
                translator = Thread.ofPlatform().daemon().name(threadName).start(this::translateRequests);
            }
        }
    }

    /** {@return whether hot code is translated in the background} */
    boolean background() {
        return background;
    }

    private void translateRequests() {
        try {
            while (!closed) {
                long key = requests.take();
                try {
                    if (lookup(key >>> MODE_BITS, (int) key & (MODES - 1)) == null) {
                        // Another hart may be storing to the page right now: every store-TLB entry
                        // the marking drops counts as a possible race (CodePages).
                        translate(null, key >>> MODE_BITS, (int) key & (MODES - 1));
                    }
                } finally {
                    pending.remove(key);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the translator thread and waits for it, since it reads guest RAM: the caller may
     * unmap RAM only once this returns true. The cache answers lookups but translates no more.
     *
     * @return whether no translator thread is running any more (false only if it did not stop
     *         within {@code timeoutMillis})
     */
    public boolean close(long timeoutMillis) {
        closed = true;
        Thread t;
        synchronized (this) {
            t = translator;
        }
        if (t == null) {
            return true;
        }
        t.interrupt();
        boolean interrupted = false;
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (t.isAlive()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                t.join(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }

    /** {@return the region entered at RAM offset {@code hostOffset} in {@code mode}, or null} */
    Region lookup(long hostOffset, int mode) {
        PageEntry e = entry(hostOffset >>> 12);
        return e == null ? null : e.regions.get(key(hostOffset, mode));
    }

    /** Counts a start of the block at {@code hostOffset}; {@return whether it is hot enough to translate} */
    boolean hot(long hostOffset) {
        if (threshold == 0) {
            return true;
        }
        int i = (int) ((hostOffset >>> 1) * 0x9E3779B1L >>> (32 - HEAT_BITS)) & ((1 << HEAT_BITS) - 1);
        int h = heat[i] + 1;
        heat[i] = h;
        if (h >= threshold) {
            heat[i] = 0;
            return true;
        }
        return false;
    }

    private static int key(long hostOffset, int mode) {
        return (int) (hostOffset & 0xFFF) << MODE_BITS | mode;
    }

    private PageEntry entry(long pageIndex) {
        PageEntry[] chunk = directory[(int) (pageIndex >>> CHUNK_BITS)];
        return chunk == null ? null : chunk[(int) pageIndex & ((1 << CHUNK_BITS) - 1)];
    }

    private PageEntry makeEntry(long pageIndex) {
        int c = (int) (pageIndex >>> CHUNK_BITS);
        if (directory[c] == null) {
            directory[c] = new PageEntry[1 << CHUNK_BITS];
        }
        int i = (int) pageIndex & ((1 << CHUNK_BITS) - 1);
        if (directory[c][i] == null) {
            directory[c][i] = new PageEntry();
        }
        return directory[c][i];
    }

    /**
     * Translates the region entered at RAM offset {@code hostOffset} for {@code mode} and
     * installs it.
     *
     * @return the region, or null when it cannot be translated (its entry straddles the page
     *         end, translation failed, or the page was written while it was translated); the
     *         interpreter then runs the code
     */
    Region translate(CodePages.WriteCache self, long hostOffset, int mode) {
        long untranslatableKey = hostOffset << MODE_BITS | mode;
        if (untranslatable.containsKey(untranslatableKey)) {
            return null;
        }
        long pageIndex = hostOffset >>> 12;
        PageEntry entry;
        int generation;
        synchronized (this) {
            // Ordering: marked before the page's bytes are read (see CodePages).
            codePages.markCode(pageIndex, self);
            entry = makeEntry(pageIndex);
            generation = entry.generation;
        }
        long start = System.nanoTime();
        Region region;
        try {
            region = build(pageIndex, (int) (hostOffset & 0xFFF), mode);
        } catch (RuntimeException | LinkageError e) {
            // A bug in the translator must cost speed, never the guest: the interpreter runs it.
            region = null;
            if (warnings.getAndIncrement() < 3) {
                log.warn("ember: could not translate the code at RAM offset 0x" + Long.toHexString(hostOffset)
                        + "; the interpreter runs it", e);
            }
        }
        translationNanos.addAndGet(System.nanoTime() - start);
        synchronized (this) {
            if (region == null) {
                failed++;
                if (untranslatable.size() > 4096) {
                    untranslatable.clear();
                }
                untranslatable.put(untranslatableKey, Boolean.TRUE);
                return null;
            }
            translated++;
            if (entry.generation != generation || entry != entry(pageIndex)) {
                return null;   // the page was written (or the cache dropped) meanwhile
            }
            if (live >= MAX_REGIONS || liveClassBytes + region.classBytes > MAX_CLASS_BYTES) {
                flush();
                entry = makeEntry(pageIndex);
            }
            Region old = entry.regions.put(key(hostOffset, mode), region);
            if (old != null) {
                old.valid = false;
                forget(old);
                evicted++;
            }
            live++;
            liveInstructions += region.guestInstructions;
            liveClassBytes += region.classBytes;
            // A write to the page may have found no code here a moment ago and left it unmarked.
            codePages.markCode(pageIndex, self);
        }
        decoded.flagRegionEntry(hostOffset, true);
        return region;
    }

    /** Plans, compiles and defines one region; null when its entry cannot start one. */
    private Region build(long pageIndex, int entry, int mode) throws LinkageError {
        int max = MAX_REGION_INSTRUCTIONS;
        while (true) {
            RegionBuilder.Plan plan = RegionBuilder.plan(seg, pageIndex << 12, entry, mode, decoded.peek(pageIndex), max);
            if (plan == null) {
                return null;
            }
            String name = "dev.ember.riscv.jit.R_%x_m%d_%d".formatted(ram.base() + (pageIndex << 12) + entry, mode,
                    CLASS_NUMBERS.incrementAndGet());
            RegionCompiler.Compiled compiled = RegionCompiler.compile(plan, name);
            if (compiled.codeBytes() > RegionCompiler.MAX_BYTECODE && max > 8) {
                max = Math.min(max, plan.instructions()) / 2;   // too big for HotSpot to compile: fewer blocks
                continue;
            }
            try {
                MethodHandles.Lookup hidden = LOOKUP.defineHiddenClassWithClassData(compiled.classBytes(), seg, true);
                int[] ranges = new int[2 * plan.blocks().size()];
                for (int i = 0; i < plan.blocks().size(); i++) {
                    ranges[2 * i] = plan.blocks().get(i).start();
                    ranges[2 * i + 1] = plan.blocks().get(i).end();
                }
                Region.Meta meta = new Region.Meta((pageIndex << 12) + entry, mode, compiled.exits(), plan.instructions(),
                        plan.blocks().size(), compiled.classBytes().length, ranges);
                return (Region) hidden.findConstructor(hidden.lookupClass(), MethodType.methodType(void.class, Region.Meta.class))
                        .invoke(meta);
            } catch (LinkageError | RuntimeException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("cannot instantiate " + name, t);
            }
        }
    }

    /**
     * Clears the interpreter's region-entry flag at {@code hostOffset} when no region of any mode
     * begins there any more (the cache was flushed), so the interpreter counts the block again.
     */
    void clearStaleEntry(long hostOffset) {
        long[] page = decoded.peek(hostOffset >>> 12);
        if (page == null || (page[(int) (hostOffset & 0xFFF) >>> 1] & dev.ember.riscv.isa.Insn.REGION_ENTRY) == 0) {
            return;
        }
        PageEntry e = entry(hostOffset >>> 12);
        if (e != null) {
            for (int mode = 0; mode < MODES; mode++) {
                if (e.regions.containsKey(key(hostOffset, mode))) {
                    return;
                }
            }
        }
        decoded.flagRegionEntry(hostOffset, false);
    }

    /**
     * Drops the regions whose code overlaps bytes {@code [from, to)} of a page that was written
     * (see {@link CodePages}); a translation of the page under way is not installed.
     */
    @Override
    public synchronized boolean codeWritten(long pageIndex, int from, int to) {
        PageEntry e = entry(pageIndex);
        if (e == null) {
            return false;
        }
        e.generation++;
        boolean dropAll = false;
        boolean hit = false;
        for (Region r : e.regions.values()) {
            hit |= r.overlaps(from, to);
        }
        if (!hit && !e.regions.isEmpty() && ++e.dataWrites >= DATA_WRITES_BEFORE_DROP) {
            dropAll = true;
        }
        if (hit || dropAll) {
            e.dataWrites = 0;
        }
        boolean dropped = false;
        for (var it = e.regions.values().iterator(); it.hasNext(); ) {
            Region r = it.next();
            if (dropAll || r.overlaps(from, to)) {
                it.remove();
                r.valid = false;
                forget(r);
                invalidated++;
                dropped = true;
            }
        }
        return dropped;
    }

    @Override
    public boolean holdsCode(long pageIndex) {
        PageEntry e = entry(pageIndex);
        return e != null && !e.regions.isEmpty();
    }

    /** Drops every region: the bound was reached. */
    private void flush() {
        for (PageEntry[] chunk : directory) {
            if (chunk == null) {
                continue;
            }
            for (PageEntry e : chunk) {
                if (e != null) {
                    e.generation++;
                    for (Region r : e.regions.values()) {
                        r.valid = false;
                        evicted++;
                    }
                }
            }
        }
        java.util.Arrays.fill(directory, null);
        live = 0;
        liveInstructions = 0;
        liveClassBytes = 0;
        flushes++;
        epoch++;
    }

    private void forget(Region r) {
        live--;
        liveInstructions -= r.guestInstructions;
        liveClassBytes -= r.classBytes;
        java.util.Arrays.fill(r.links, null);   // so linked classes can be unloaded
    }

    /** {@return the cache's counters} */
    public synchronized TranslationStats stats() {
        return new TranslationStats(translated, invalidated, evicted, live, liveInstructions, liveClassBytes,
                translationNanos.get(), failed, flushes);
    }

    /** {@return the live regions, for tests and diagnostics} */
    synchronized List<Region> regions() {
        List<Region> out = new ArrayList<>();
        for (PageEntry[] chunk : directory) {
            if (chunk != null) {
                for (PageEntry e : chunk) {
                    if (e != null) {
                        out.addAll(e.regions.values());
                    }
                }
            }
        }
        return out;
    }
}
