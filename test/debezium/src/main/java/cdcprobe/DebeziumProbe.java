package cdcprobe;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The entry point the TypeScript driver (test/debezium/probe.ts) starts with {@code java -cp}.
 *
 * <pre>
 *   stream     PROPERTIES  run Debezium's embedded PostgreSQL connector until "stop" on stdin
 *   commit-lsn PROPERTIES  confirm the LSN of the stored offset to the slot, as Airbyte does
 * </pre>
 *
 * PROPERTIES is a Java properties file: the connector's properties plus {@code probe.*} settings
 * for the probe itself. The database password never goes into that file: it comes from the
 * environment variable {@value #PASSWORD_VARIABLE}. Every report is one JSON object a line on
 * stdout (see {@link Reports}); Debezium's own log goes to stderr.
 */
public final class DebeziumProbe {
    /** Where the replication user's password comes from. */
    static final String PASSWORD_VARIABLE = "PROBE_DATABASE_PASSWORD";

    private DebeziumProbe() {}

    public static void main(String[] args) {
        if (args.length != 2 || !(args[0].equals("stream") || args[0].equals("commit-lsn"))) {
            System.err.println("usage: DebeziumProbe stream|commit-lsn PROPERTIES");
            System.exit(2);
        }
        Reports reports = new Reports(System.out);
        int status;
        try {
            Properties properties = load(Path.of(args[1]));
            status = args[0].equals("stream")
                    ? new StreamCommand(properties, reports).run()
                    : new LsnCommitter(properties, reports).commitStoredOffset();
        } catch (Exception error) {
            reports.failed(error);
            status = 1;
        }
        System.out.flush();
        // Kafka Connect leaves non-daemon threads behind; the status is all that is left to say.
        System.exit(status);
    }

    static Properties load(Path file) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        String password = System.getenv(PASSWORD_VARIABLE);
        if (password == null) {
            throw new IllegalArgumentException(
                    PASSWORD_VARIABLE + " is not set: the probe takes the database password from it");
        }
        properties.setProperty("database.password", password);
        return properties;
    }

    /** Blocks until stdin says "stop" or ends (the driver went away), then returns. */
    static void awaitStopCommand() {
        try (BufferedReader stdin =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = stdin.readLine()) != null) {
                if (line.trim().equals("stop")) return;
            }
        } catch (IOException endOfInput) {
            // Same as end of input: stop.
        }
    }
}
