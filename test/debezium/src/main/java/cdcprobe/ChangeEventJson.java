package cdcprobe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;

/** A Debezium change event envelope as the probe reports it: op, before, after and source. */
final class ChangeEventJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ChangeEventJson() {}

    static ObjectNode of(Struct envelope) {
        ObjectNode event = NODES.objectNode().put("type", "event");
        event.put("op", envelope.getString("op"));
        event.set("before", value(envelope.get("before")));
        event.set("after", value(envelope.get("after")));
        event.set("source", value(envelope.get("source")));
        return event;
    }

    /** Connect values to JSON: structs as objects, bytes as base64, decimals as strings. */
    static JsonNode value(Object value) {
        if (value == null) return NODES.nullNode();
        if (value instanceof Struct struct) {
            ObjectNode object = NODES.objectNode();
            for (Field field : struct.schema().fields()) object.set(field.name(), value(struct.get(field)));
            return object;
        }
        if (value instanceof List<?> list) {
            ArrayNode array = NODES.arrayNode();
            list.forEach(item -> array.add(value(item)));
            return array;
        }
        if (value instanceof Map<?, ?> map) {
            ObjectNode object = NODES.objectNode();
            map.forEach((key, item) -> object.set(String.valueOf(key), value(item)));
            return object;
        }
        if (value instanceof byte[] bytes) return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
        if (value instanceof ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
        }
        if (value instanceof BigDecimal decimal) return NODES.textNode(decimal.toPlainString());
        if (value instanceof Long number) return NODES.numberNode(number);
        if (value instanceof Integer number) return NODES.numberNode(number);
        if (value instanceof Short number) return NODES.numberNode(number);
        if (value instanceof Byte number) return NODES.numberNode(number);
        if (value instanceof Double number) return NODES.numberNode(number);
        if (value instanceof Float number) return NODES.numberNode(number);
        if (value instanceof Boolean bool) return NODES.booleanNode(bool);
        return NODES.textNode(value.toString());
    }
}
