package cdcprobe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.embedded.Connect;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Runs the embedded engine with the given properties, reports every record, and marks each one
 * processed so that the engine stores its offset (the offset is what Airbyte keeps as its state;
 * the slot's confirmed_flush_lsn moves only when {@link LsnCommitter} commits it).
 */
final class StreamCommand {
    /** Print each change event (the tests) or only count them (the benchmark). Default: true. */
    static final String PRINT_EVENTS = "probe.print.events";
    /** Report progress every N change events; 0 for never. Default: 0. */
    static final String PROGRESS_EVERY = "probe.progress.every";
    /** Debezium's default heartbeat topic prefix: heartbeat records come on such a topic. */
    private static final String HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat";

    private final Properties connector = new Properties();
    private final Reports reports;
    private final boolean printEvents;
    private final long progressEvery;
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong firstEventNanos = new AtomicLong(-1);
    private final AtomicLong lastEventNanos = new AtomicLong(-1);
    private long startNanos;

    StreamCommand(Properties properties, Reports reports) {
        this.reports = reports;
        this.printEvents = Boolean.parseBoolean(properties.getProperty(PRINT_EVENTS, "true"));
        this.progressEvery = Long.parseLong(properties.getProperty(PROGRESS_EVERY, "0"));
        for (String name : properties.stringPropertyNames()) {
            if (!name.startsWith("probe.")) connector.setProperty(name, properties.getProperty(name));
        }
    }

    int run() throws InterruptedException {
        CountDownLatch finished = new CountDownLatch(1);
        AtomicBoolean succeeded = new AtomicBoolean();
        AtomicReference<String> failure = new AtomicReference<>();
        AtomicReference<Throwable> failureCause = new AtomicReference<>();
        DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine =
                DebeziumEngine.create(Connect.class)
                        .using(connector)
                        .using((success, message, error) -> {
                            succeeded.set(success);
                            if (!success) {
                                failure.set(message);
                                failureCause.set(error);
                            }
                            finished.countDown();
                        })
                        .notifying(this::handleBatch)
                        .build();

        ExecutorService executor = Executors.newSingleThreadExecutor(daemon("debezium-engine"));
        startNanos = System.nanoTime();
        executor.execute(engine);
        Thread stopper = daemon("stop-command").newThread(() -> {
            DebeziumProbe.awaitStopCommand();
            try {
                engine.close();
            } catch (Exception error) {
                reports.failed("closing the engine failed: " + error.getMessage(), error);
            }
        });
        stopper.start();
        finished.await();
        executor.shutdown();

        if (!succeeded.get()) {
            reports.failed(String.valueOf(failure.get()), failureCause.get());
            return 1;
        }
        ObjectNode stopped = reports.object("stopped").put("events", events.get());
        if (firstEventNanos.get() >= 0) {
            stopped.put("firstEventMs", millisSinceStart(firstEventNanos.get()));
            stopped.put("lastEventMs", millisSinceStart(lastEventNanos.get()));
        }
        reports.send(stopped);
        return 0;
    }

    private void handleBatch(
            List<ChangeEvent<SourceRecord, SourceRecord>> batch,
            DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer)
            throws InterruptedException {
        for (ChangeEvent<SourceRecord, SourceRecord> change : batch) {
            handle(change.value());
            committer.markProcessed(change);
        }
        committer.markBatchFinished();
    }

    private void handle(SourceRecord record) {
        if (record.topic().startsWith(HEARTBEAT_TOPIC_PREFIX)) {
            ObjectNode heartbeat = reports.object("heartbeat");
            Object lsn = record.sourceOffset().get("lsn");
            if (lsn instanceof Number number) heartbeat.put("lsn", number.longValue());
            reports.send(heartbeat);
            return;
        }
        // A delete is followed by a tombstone (no value) for Kafka log compaction: not a change.
        if (!(record.value() instanceof Struct envelope)) return;
        long now = System.nanoTime();
        firstEventNanos.compareAndSet(-1, now);
        lastEventNanos.set(now);
        long count = events.incrementAndGet();
        if (printEvents) reports.send(ChangeEventJson.of(envelope));
        if (progressEvery > 0 && count % progressEvery == 0) {
            reports.send(reports.object("progress")
                    .put("events", count)
                    .put("elapsedMs", millisSinceStart(now)));
        }
    }

    private double millisSinceStart(long nanos) {
        return (nanos - startNanos) / 1_000_000.0;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
