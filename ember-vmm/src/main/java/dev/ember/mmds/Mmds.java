package dev.ember.mmds;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ember.config.MmdsConfig;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The microVM metadata service's data store: one JSON document, the version the guest sees it
 * through, and the V2 session-token authority. As Firecracker's {@code Mmds}
 * (src/vmm/src/mmds/data_store.rs).
 *
 * <p>The document starts uninitialized; {@link #put} replaces it, {@link #patch} applies an
 * RFC 7396 JSON merge patch to it (only after a put, as Firecracker), and every write is refused
 * whole when the document's compact serialization would exceed the data store limit
 * ({@value #DEFAULT_DATA_STORE_LIMIT} bytes by default, Firecracker's {@code mmds_size_limit}
 * default). Object keys are kept sorted, as serde_json's default map, so the guest sees keys in
 * the order Firecracker shows them.
 *
 * <p>Threads: the API thread writes; the network stack reads on a vCPU thread. Stored trees are
 * never mutated once published: a write builds a new tree (sharing unchanged subtrees) and
 * publishes it through a volatile field, so reads take no lock. Token operations and writes
 * are serialized on this object's monitor, held only for in-memory work.
 */
public final class Mmds {

    /** Firecracker's default {@code mmds_size_limit}: 51,200 bytes of serialized JSON. */
    public static final int DEFAULT_DATA_STORE_LIMIT = 51_200;

    /** The data store's errors, with Firecracker's texts ({@code MmdsDatastoreError}). */
    static final String LIMIT_EXCEEDED = "The MMDS patch request doesn't fit.",
            NOT_INITIALIZED = "The MMDS data store is not initialized.",
            UNSUPPORTED_VALUE_TYPE = "Cannot retrieve value. The value has an unsupported type.";

    /** serde_json's BTreeMap order: by UTF-8 bytes, which is code point order. */
    private static final Comparator<String> KEY_ORDER = (a, b) -> {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    };

    private static final JsonNodeFactory SORTED_NODES = new JsonNodeFactory(false) {
        @Override
        public ObjectNode objectNode() {
            return new ObjectNode(this, new TreeMap<>(KEY_ORDER));
        }
    };

    static final ObjectMapper MAPPER = new ObjectMapper().setNodeFactory(SORTED_NODES);

    private final TokenAuthority tokens;
    private volatile JsonNode data = NullNode.getInstance();
    private volatile MmdsVersion version = MmdsVersion.V1;
    private boolean initialized;
    private int dataStoreLimit;

    /** An empty, V1 store with Firecracker's default limit. */
    public Mmds() {
        this(DEFAULT_DATA_STORE_LIMIT);
    }

    /** An empty, V1 store holding at most dataStoreLimit bytes of serialized JSON. */
    public Mmds(int dataStoreLimit) {
        this(dataStoreLimit, () -> System.nanoTime() / 1_000_000);
    }

    /** For tests: tokens expire by clockMillis, a monotonic millisecond clock. */
    Mmds(int dataStoreLimit, LongSupplier clockMillis) {
        if (dataStoreLimit <= 0) {
            throw new IllegalArgumentException("MMDS data store limit must be positive: " + dataStoreLimit);
        }
        this.dataStoreLimit = dataStoreLimit;
        this.tokens = new TokenAuthority(clockMillis);
    }

    /** Applies {@code PUT /mmds/config}: the version the guest speaks. */
    public void configure(MmdsConfig config) {
        setVersion(MmdsVersion.parse(config.version()));
    }

    /** {@return the protocol version the guest sees} */
    public MmdsVersion version() {
        return version;
    }

    /** Sets the protocol version; tokens issued before stay valid, as in Firecracker. */
    public void setVersion(MmdsVersion version) {
        this.version = java.util.Objects.requireNonNull(version);
    }

    /** Binds V2 tokens to this microVM id (Firecracker's {@code set_aad}); earlier tokens become invalid. */
    public synchronized void setInstanceId(String instanceId) {
        tokens.setAad(instanceId);
    }

    /** {@return the data store limit in bytes} */
    public synchronized int dataStoreLimit() {
        return dataStoreLimit;
    }

    /** Sets the data store limit (Firecracker's {@code --mmds-size-limit}); the current document stays. */
    public synchronized void setDataStoreLimit(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("MMDS data store limit must be positive: " + bytes);
        }
        dataStoreLimit = bytes;
    }

    /**
     * Replaces the document ({@code PUT /mmds}).
     *
     * @throws IllegalArgumentException if json is not JSON, or with Firecracker's
     *         {@value #LIMIT_EXCEEDED} ({@link MmdsLimitExceededException}) when it exceeds the limit; the document is then unchanged
     */
    public synchronized void put(String json) {
        JsonNode node = parse(json);
        checkLimit(node);
        data = node;
        initialized = true;
    }

    /**
     * Applies a JSON merge patch (RFC 7396; {@code PATCH /mmds}).
     *
     * @throws IllegalStateException with {@value #NOT_INITIALIZED} before the first put
     * @throws IllegalArgumentException if json is not JSON, or with {@value #LIMIT_EXCEEDED} when
     *         the result would exceed the limit; the document is then unchanged
     */
    public synchronized void patch(String json) {
        if (!initialized) {
            throw new IllegalStateException(NOT_INITIALIZED);
        }
        JsonNode merged = mergePatch(data, parse(json));
        checkLimit(merged);
        data = merged;
    }

    /** {@return the document as compact JSON ({@code GET /mmds}); {@code {}} before the first put} */
    public String get() {
        JsonNode d = data;
        return d.isNull() && !isInitialized() ? "{}" : write(d);
    }

    /** {@return whether a document has been put} */
    public synchronized boolean isInitialized() {
        return initialized;
    }

    /** What a guest GET finds at a path. */
    sealed interface Lookup {
        /** The value, formatted. */
        record Found(String body) implements Lookup { }

        /** Nothing at that path. */
        record NotFound() implements Lookup { }

        /** The IMDS format has no text for this value (numbers, booleans, arrays, null). */
        record Unsupported() implements Lookup { }
    }

    /**
     * Looks up a JSON pointer path, as Firecracker's {@code get_value}: a trailing '/' is
     * ignored; the value is returned as compact JSON, or in the IMDS format (an object lists
     * its keys one per line, sub-objects with a trailing '/'; a string is returned raw).
     */
    Lookup lookup(String path, boolean json) {
        String pointer = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        JsonNode value;
        try {
            value = data.at(JsonPointer.compile(pointer));
        } catch (IllegalArgumentException e) {
            return new Lookup.NotFound();
        }
        if (value.isMissingNode()) {
            return new Lookup.NotFound();
        }
        if (json) {
            return new Lookup.Found(write(value));
        }
        if (value.isObject()) {
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, JsonNode> e : value.properties()) {
                if (!sb.isEmpty()) {
                    sb.append('\n');
                }
                sb.append(e.getKey());
                if (e.getValue().isObject()) {
                    sb.append('/');
                }
            }
            return new Lookup.Found(sb.toString());
        }
        if (value.isTextual()) {
            return new Lookup.Found(value.textValue());
        }
        return new Lookup.Unsupported();
    }

    /** {@return a new session token valid for ttlSeconds} @throws IllegalArgumentException out of 1..21600 */
    synchronized String generateToken(long ttlSeconds) {
        return tokens.generate(ttlSeconds);
    }

    /** {@return whether token is a token this store issued that has not expired} */
    synchronized boolean isValidToken(String token) {
        return tokens.isValid(token);
    }

    /** RFC 7396 merge as Firecracker's {@code json_patch}, building new nodes and sharing the rest. */
    private static JsonNode mergePatch(JsonNode target, JsonNode patch) {
        if (!patch.isObject()) {
            return patch;
        }
        ObjectNode out = SORTED_NODES.objectNode();
        if (target.isObject()) {
            out.setAll((ObjectNode) target);
        }
        for (Map.Entry<String, JsonNode> e : patch.properties()) {
            if (e.getValue().isNull()) {
                out.remove(e.getKey());
            } else {
                JsonNode old = out.get(e.getKey());
                out.set(e.getKey(), mergePatch(old == null ? NullNode.getInstance() : old, e.getValue()));
            }
        }
        return out;
    }

    private void checkLimit(JsonNode node) {
        try {
            if (MAPPER.writeValueAsBytes(node).length > dataStoreLimit) {
                throw new MmdsLimitExceededException();
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    private static JsonNode parse(String json) {
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw new IllegalArgumentException("MMDS data must be a JSON value");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
