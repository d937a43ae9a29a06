package cdcprobe;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.stream.Stream;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;

/**
 * Confirms the LSN of the engine's stored offset to the replication slot, the way Airbyte's
 * Postgres source does at the start of the next sync once the destination has loaded the previous
 * one: a replication connection that starts the slot's stream at that LSN and reports it flushed
 * and applied, so that the server moves confirmed_flush_lsn and may recycle the WAL before it.
 */
final class LsnCommitter {
    private final Properties properties;
    private final Reports reports;

    LsnCommitter(Properties properties, Reports reports) {
        this.properties = properties;
        this.reports = reports;
    }

    int commitStoredOffset() throws IOException, SQLException, ClassNotFoundException {
        long lsn = storedLsn(Path.of(required("offset.storage.file.filename")));
        LogSequenceNumber position = LogSequenceNumber.valueOf(lsn);
        try (Connection connection = DriverManager.getConnection(url(), replicationProperties())) {
            ChainedLogicalStreamBuilder builder = connection.unwrap(PGConnection.class)
                    .getReplicationAPI()
                    .replicationStream()
                    .logical()
                    .withSlotName("\"" + required("slot.name") + "\"")
                    .withSlotOption("proto_version", 1)
                    .withSlotOption("publication_names", required("publication.name"));
            // pgoutput takes "messages" from PostgreSQL 14 on; Airbyte asks for it there.
            if (connection.getMetaData().getDatabaseMajorVersion() >= 14) {
                builder = builder.withSlotOption("messages", true);
            }
            PGReplicationStream stream = builder.withStartPosition(position).start();
            stream.forceUpdateStatus();
            stream.setFlushedLSN(position);
            stream.setAppliedLSN(position);
            stream.forceUpdateStatus();
            stream.close();
        }
        reports.send(reports.object("committed").put("lsn", lsn).put("lsnText", position.asString()));
        return 0;
    }

    /**
     * The LSN Airbyte's Kotlin source (3.8) commits from a stored offset: the smaller of
     * {@code lsn_proc} (last event processed) and {@code lsn_commit} (last transaction commit
     * seen), so that a transaction only partly processed is read again; {@code lsn} where an
     * offset has neither (Airbyte's synthetic first offset before 3.8). The file is Kafka Connect's
     * FileOffsetBackingStore: a serialized map from JSON key bytes to JSON value bytes.
     */
    static long storedLsn(Path offsetFile) throws IOException, ClassNotFoundException {
        Map<?, ?> offsets;
        try (InputStream file = Files.newInputStream(offsetFile);
                ObjectInputStream objects = new ObjectInputStream(file)) {
            offsets = (Map<?, ?>) objects.readObject();
        }
        if (offsets.size() != 1) {
            throw new IllegalStateException(offsetFile + " holds " + offsets.size() + " offsets, expected one");
        }
        byte[] value = (byte[]) offsets.values().iterator().next();
        JsonNode offset = Reports.JSON.readTree(new String(value, StandardCharsets.UTF_8));
        OptionalLong committed = Stream.of("lsn_proc", "lsn_commit")
                .map(offset::get)
                .filter(node -> node != null && node.canConvertToLong())
                .mapToLong(JsonNode::asLong)
                .min();
        if (committed.isPresent()) return committed.getAsLong();
        JsonNode lsn = offset.get("lsn");
        if (lsn == null || !lsn.canConvertToLong()) {
            throw new IllegalStateException("the stored offset has no LSN: " + offset);
        }
        return lsn.asLong();
    }

    private String url() {
        return "jdbc:postgresql://" + required("database.hostname") + ":" + required("database.port")
                + "/" + required("database.dbname");
    }

    private Properties replicationProperties() {
        Properties jdbc = new Properties();
        PGProperty.USER.set(jdbc, required("database.user"));
        PGProperty.PASSWORD.set(jdbc, required("database.password"));
        PGProperty.REPLICATION.set(jdbc, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(jdbc, "9.4");
        PGProperty.PREFER_QUERY_MODE.set(jdbc, "simple");
        // The same TLS as the connector: verify the server against the CA it was given.
        PGProperty.SSL_MODE.set(jdbc, properties.getProperty("database.sslmode", "verify-full"));
        String rootCert = properties.getProperty("database.sslrootcert");
        if (rootCert != null) PGProperty.SSL_ROOT_CERT.set(jdbc, rootCert);
        return jdbc;
    }

    private String required(String name) {
        String value = properties.getProperty(name);
        if (value == null || value.isEmpty()) throw new IllegalArgumentException(name + " is not set");
        return value;
    }
}
