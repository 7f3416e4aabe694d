package dev.ferry.controller.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.controller.testing.TestController;
import dev.ferry.proto.v1.DatabaseServiceGrpc;
import dev.ferry.proto.v1.DumpDatabaseRequest;
import dev.ferry.proto.v1.DumpDatabaseResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DumpDatabase honours flow control end to end: a receiver that stops asking for messages
 * stops pg_dump (its pipe fills and it blocks) instead of making the source agent buffer the
 * whole dump; and a receiver that goes away gets pg_dump killed.
 */
@Tag("integration")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class DumpFlowControlTest {
  @Test
  void aStalledReceiverStallsPgDumpAndACancelKillsIt(@TempDir Path dir) throws Exception {
    try (TestPostgres pg = TestPostgres.start("dumpflow")) {
      pg.createRole("mastodon");
      pg.createDatabase("flow", "mastodon");
      // About 40 MB of random bytes: the archive cannot shrink below the size of the data.
      pg.psqlAs("mastodon", "flow",
          "CREATE TABLE blobs (id int PRIMARY KEY, data bytea);"
              + "INSERT INTO blobs SELECT i, decode(string_agg(md5(random()::text || g), ''), 'hex')"
              + " FROM generate_series(1, 40000) i, generate_series(1, 64) g GROUP BY i;");
      int port;
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = socket.getLocalPort();
      }
      try (TestAgent agent = TestAgent.start(dir.resolve("agent"), Map.of(
          ConfigKey.LISTEN, "127.0.0.1:" + port,
          ConfigKey.DB_HOST, pg.socketDir().toString(),
          ConfigKey.DB_PORT, Integer.toString(pg.port()),
          ConfigKey.PG_BINDIR, pg.bindir().toString(),
          ConfigKey.DB_NAME, "flow",
          ConfigKey.DB_ROLE, "mastodon"))) {
        TestController controller = new TestController(dir.resolve("controller"));
        controller.pair("source", agent);
        try (AgentClient client = controller.client("source")) {
          AtomicInteger received = new AtomicInteger();
          AtomicReference<ClientCallStreamObserver<DumpDatabaseRequest>> call = new AtomicReference<>();
          CountDownLatch firstChunk = new CountDownLatch(1);
          DatabaseServiceGrpc.newStub(client.channel())
              .dumpDatabase(DumpDatabaseRequest.getDefaultInstance(), new ClientResponseObserver<DumpDatabaseRequest, DumpDatabaseResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<DumpDatabaseRequest> requests) {
                  call.set(requests);
                  // The header and one chunk, then nothing more: a receiver that stopped.
                  requests.disableAutoRequestWithInitial(2);
                }

                @Override
                public void onNext(DumpDatabaseResponse value) {
                  received.incrementAndGet();
                  if (value.hasChunk()) {
                    firstChunk.countDown();
                  }
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
              });
          assertTrue(firstChunk.await(60, TimeUnit.SECONDS), "the dump started");
          // Unthrottled, pg_dump writes 40 MB in well under this time and exits.
          Thread.sleep(5000);
          List<ProcessHandle> dumps = pgDumps(pg);
          assertEquals(1, dumps.size(), "pg_dump is still running, blocked on its full pipe");
          assertEquals(2, received.get());

          call.get().cancel("the receiver went away", null);
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
          while (!pgDumps(pg).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
          }
          assertTrue(pgDumps(pg).isEmpty(), "a cancelled dump kills pg_dump");
        }
      }
    }
  }

  /** pg_dump processes reading this cluster (matched by its socket directory). */
  private static List<ProcessHandle> pgDumps(TestPostgres pg) {
    String socket = pg.socketDir().toString();
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().map(c -> c.endsWith("/pg_dump")).orElse(false))
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(socket)).orElse(false))
        .toList();
  }
}
