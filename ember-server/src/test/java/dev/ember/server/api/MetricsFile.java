package dev.ember.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The metrics file of an {@code ember} process under test. {@link #flush} sends
 * {@code FlushMetrics} and returns what was counted since the previous call: the sum of every
 * line written in between, so a periodic flush (every 60 seconds) landing in a slow test does
 * not split the counts. Values that are not counters ({@code latencies_us},
 * {@code api_server}'s start-up time, the timestamp) are taken from the last line.
 */
final class MetricsFile {

    private final Path file;
    private int linesSeen;

    MetricsFile(Path file) {
        this.file = file;
    }

    Path path() {
        return file;
    }

    JsonNode flush(ApiProcess ember) throws IOException {
        assertEquals(204, ember.request("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}").status());
        List<String> lines = Files.readAllLines(file);
        ObjectNode sum = (ObjectNode) Json.MAPPER.readTree(lines.get(lines.size() - 1));
        for (String line : lines.subList(linesSeen, lines.size() - 1)) {
            JsonNode earlier = Json.MAPPER.readTree(line);
            earlier.properties().forEach(group -> {
                if (!group.getValue().isObject() || group.getKey().equals("latencies_us")
                        || group.getKey().equals("api_server")) {
                    return;
                }
                ObjectNode target = sum.has(group.getKey()) ? (ObjectNode) sum.get(group.getKey()) : sum.putObject(group.getKey());
                group.getValue().properties().forEach(f -> target.put(f.getKey(), target.path(f.getKey()).asLong() + f.getValue().asLong()));
            });
        }
        linesSeen = lines.size();
        return sum;
    }
}
