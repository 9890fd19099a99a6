package dev.ember.server.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Jackson, set up to read request bodies and the config file as strictly as Firecracker's serde
 * structs ({@code #[serde(deny_unknown_fields)]}), and to word its errors as serde_json does.
 *
 * <p>Error texts follow Firecracker's {@code RequestError::SerdeJson}: {@code "An error occurred
 * when deserializing the json body of a request: <serde message>."}, where the serde message is
 * one of {@code unknown field `x`, expected one of `a`, `b`}, {@code missing field `x`},
 * {@code invalid type: string "1", expected u32}, {@code unknown variant `X`, expected `A` or
 * `B`}, {@code trailing characters} or {@code expected value}, each followed by
 * {@code at line L column C} as Jackson locates it (serde's column can differ by a character or
 * two). Integers are not coerced from strings, strings not from numbers, floats not to integers.
 *
 * <p>Thread-safe: the mapper is immutable after set-up.
 */
final class Json {

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    static {
        for (LogicalType t : List.of(LogicalType.Textual, LogicalType.Integer, LogicalType.Boolean, LogicalType.Float)) {
            var cfg = MAPPER.coercionConfigFor(t);
            for (CoercionInputShape shape : List.of(CoercionInputShape.Integer, CoercionInputShape.Float,
                    CoercionInputShape.Boolean, CoercionInputShape.String, CoercionInputShape.EmptyString)) {
                cfg.setCoercion(shape, CoercionAction.Fail);
            }
        }
    }

    /** Something parsed that checks its required fields and ranges after binding. */
    interface Checked {
        /** @throws FieldError with a serde-style message when a field is missing or out of range */
        void check();
    }

    /** A serde-style message about one field, located at the end of the enclosing object. */
    static final class FieldError extends RuntimeException {
        FieldError(String message) {
            super(message, null, false, false);
        }
    }

    private Json() {
    }

    /** Throws serde's {@code missing field `name`} when {@code value} is null. */
    static void require(String name, Object value) {
        if (value == null) {
            throw new FieldError("missing field `" + name + "`");
        }
    }

    /** Throws serde's {@code invalid value: integer `v`, expected TYPE} outside {@code [0, max]}. */
    static void unsigned(Number value, long max, String type) {
        if (value != null && (value.longValue() < 0 || value.longValue() > max)) {
            throw new FieldError("invalid value: integer `" + value + "`, expected " + type);
        }
    }

    /** Throws serde's {@code unknown variant} when {@code value} is not one of {@code variants}. */
    static void variant(String value, String... variants) {
        if (value != null && !List.of(variants).contains(value)) {
            throw new FieldError("unknown variant `" + value + "`, expected " + expected(List.of(variants)));
        }
    }

    /**
     * Parses {@code body} into {@code type}.
     *
     * @throws ApiError 400 with Firecracker's deserialization fault message
     */
    static <T> T parse(byte[] body, Class<T> type) {
        try {
            T value = MAPPER.readValue(body, type);
            if (value == null) {
                throw fault("invalid type: null, expected struct " + type.getSimpleName() + " at line 1 column 4");
            }
            checkTree(value);
            return value;
        } catch (FieldError e) {
            throw fault(e.getMessage() + endLocation(body));
        } catch (MismatchedInputException e) {
            String found = foundAt(body, e);
            String msg = found != null && !(e instanceof UnrecognizedPropertyException)
                    && !String.valueOf(e.getOriginalMessage()).startsWith("Trailing token")
                    ? "invalid type: " + found + ", expected " + expectedType(e.getTargetType()) : serdeMessage(e);
            throw fault(msg + location(e.getLocation()));
        } catch (JsonProcessingException e) {
            throw fault(serdeMessage(e) + location(e.getLocation()));
        } catch (IOException e) {
            throw fault(e.getMessage());
        }
    }

    /** {@return serde's description of the value at the error's path in {@code body}, or null} */
    private static String foundAt(byte[] body, MismatchedInputException e) {
        if (e.getPath().isEmpty()) {
            return null;
        }
        try {
            JsonNode node = MAPPER.readTree(body);
            for (var ref : e.getPath()) {
                node = ref.getFieldName() != null ? node.get(ref.getFieldName()) : node.get(ref.getIndex());
                if (node == null) {
                    return null;
                }
            }
            return switch (node.getNodeType()) {
                case STRING -> "string \"" + node.textValue() + "\"";
                case NUMBER -> node.isIntegralNumber() ? "integer `" + node.asText() + "`" : "floating point `" + node.asText() + "`";
                case BOOLEAN -> "boolean `" + node.asText() + "`";
                case NULL -> "null";
                case OBJECT -> "map";
                case ARRAY -> "sequence";
                default -> null;
            };
        } catch (IOException | RuntimeException ex) {
            return null;
        }
    }

    /** Parses any JSON value (the MMDS body). */
    static JsonNode parseTree(byte[] body) {
        try {
            return MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw fault(serdeMessage(e) + location(e.getLocation()));
        } catch (IOException e) {
            throw fault(e.getMessage());
        }
    }

    private static void checkTree(Object value) {
        if (value instanceof Checked c) {
            c.check();
        }
    }

    static ApiError fault(String serdeMessage) {
        return ApiError.badRequest("An error occurred when deserializing the json body of a request: " + serdeMessage + ".");
    }

    private static String serdeMessage(JsonProcessingException e) {
        if (e instanceof UnrecognizedPropertyException u) {
            return "unknown field `" + u.getPropertyName() + "`, expected " + expected(fieldNames(u.getReferringClass()));
        }
        if (e instanceof InvalidFormatException f) {
            return "invalid type: " + describe(f.getValue()) + ", expected " + expectedType(f.getTargetType());
        }
        if (e instanceof MismatchedInputException m) {
            String msg = String.valueOf(m.getOriginalMessage());
            if (msg.startsWith("Trailing token")) {
                return "trailing characters";
            }
            if (m.getProcessor() instanceof JsonParser p) {
                JsonToken t = p.currentToken();
                if (t != null) {
                    return "invalid type: " + describe(p, t) + ", expected " + expectedType(m.getTargetType());
                }
            }
            if (msg.contains("No content to map")) {
                return "EOF while parsing a value";
            }
            return "invalid type, expected " + expectedType(m.getTargetType());
        }
        String msg = String.valueOf(e.getOriginalMessage());
        if (msg.startsWith("Unexpected end-of-input")) {
            return "EOF while parsing " + (msg.contains("Object") ? "an object" : msg.contains("Array") ? "a list" : "a value");
        }
        if (msg.contains("trailing comma") || msg.contains("was expecting double-quote to start field name")) {
            return "key must be a string";
        }
        return "expected value";
    }

    private static String describe(JsonParser p, JsonToken t) {
        try {
            return switch (t) {
                case VALUE_STRING -> "string \"" + p.getText() + "\"";
                case VALUE_NUMBER_INT -> (p.getText().startsWith("-") ? "integer `" : "integer `") + p.getText() + "`";
                case VALUE_NUMBER_FLOAT -> "floating point `" + p.getText() + "`";
                case VALUE_TRUE, VALUE_FALSE -> "boolean `" + p.getText() + "`";
                case VALUE_NULL -> "null";
                case START_OBJECT, FIELD_NAME, END_OBJECT -> "map";
                case START_ARRAY, END_ARRAY -> "sequence";
                default -> t.asString() == null ? t.name() : t.asString();
            };
        } catch (IOException e) {
            return t.name();
        }
    }

    private static String describe(Object value) {
        if (value instanceof String s) {
            return "string \"" + s + "\"";
        }
        if (value instanceof Boolean b) {
            return "boolean `" + b + "`";
        }
        if (value instanceof Double || value instanceof Float) {
            return "floating point `" + value + "`";
        }
        return "integer `" + value + "`";
    }

    private static String expectedType(Class<?> type) {
        if (type == null) {
            return "a value";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "a boolean";
        }
        if (type == Integer.class || type == int.class) {
            return "u32";
        }
        if (type == Long.class || type == long.class) {
            return "u64";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a sequence";
        }
        return "struct " + type.getSimpleName();
    }

    /** {@return serde's list of expected names: `a`; `a` or `b`; one of `a`, `b`, `c`} */
    static String expected(List<String> names) {
        return switch (names.size()) {
            case 0 -> "there are no fields";
            case 1 -> "`" + names.getFirst() + "`";
            case 2 -> "`" + names.get(0) + "` or `" + names.get(1) + "`";
            default -> {
                StringBuilder sb = new StringBuilder("one of ");
                for (int i = 0; i < names.size(); i++) {
                    sb.append(i == 0 ? "" : ", ").append('`').append(names.get(i)).append('`');
                }
                yield sb.toString();
            }
        };
    }

    /** {@return the JSON names of a record's components in declaration order} */
    static List<String> fieldNames(Class<?> type) {
        List<String> names = new ArrayList<>();
        if (type != null && type.isRecord()) {
            for (RecordComponent c : type.getRecordComponents()) {
                JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
                names.add(p != null ? p.value() : c.getName());
            }
        }
        return names;
    }

    private static String location(JsonLocation loc) {
        if (loc == null || loc.getLineNr() < 1) {
            return "";
        }
        return " at line " + loc.getLineNr() + " column " + Math.max(0, loc.getColumnNr());
    }

    /** serde reports a missing field where the object closes: the last '}' of the body. */
    private static String endLocation(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        int end = s.lastIndexOf('}');
        if (end < 0) {
            return "";
        }
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < end; i++) {
            if (s.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return " at line " + line + " column " + (end - lineStart + 1);
    }

    /** {@return {@code {"fault_message": message}}} */
    static String faultBody(String message) {
        return MAPPER.createObjectNode().put("fault_message", message).toString();
    }

    /** {@return {@code value} as compact JSON} */
    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
