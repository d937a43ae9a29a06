package cdcprobe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.Set;

/**
 * The probe's protocol: one JSON object a line on stdout, each with a {@code type}.
 *
 * <pre>
 *   {"type":"event","op":"c","before":null,"after":{...},"source":{...}}   a change event
 *   {"type":"heartbeat","lsn":N}                           a Debezium heartbeat record
 *   {"type":"progress","events":N,"elapsedMs":M}          every probe.progress.every events
 *   {"type":"stopped","events":N,"firstEventMs":M,"lastEventMs":M}   clean stop
 *   {"type":"committed","lsn":N,"lsnText":"0/16B3748"}      commit-lsn confirmed that LSN
 *   {"type":"failed","message":"...","causes":["..."]}     the engine or a command failed
 * </pre>
 */
final class Reports {
    static final ObjectMapper JSON = new ObjectMapper();
    private final PrintStream out;

    Reports(PrintStream out) {
        this.out = out;
    }

    ObjectNode object(String type) {
        return JSON.createObjectNode().put("type", type);
    }

    synchronized void send(ObjectNode report) {
        out.println(report.toString());
        out.flush();
    }

    /** An error with the message of every cause, outermost first: Debezium wraps the server's. */
    void failed(String message, Throwable error) {
        ObjectNode report = object("failed").put("message", message);
        ArrayNode causes = report.putArray("causes");
        Set<Throwable> seen = new HashSet<>();
        for (Throwable cause = error; cause != null && seen.add(cause); cause = cause.getCause()) {
            causes.add(cause.getClass().getName() + ": " + cause.getMessage());
        }
        send(report);
    }

    void failed(Throwable error) {
        failed(String.valueOf(error.getMessage()), error);
    }
}
