package dev.ferry.controller.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.media.MediaTrees;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.controller.client.Channels;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.controller.testing.AgentJvm;
import dev.ferry.controller.testing.ChildAgent;
import dev.ferry.controller.testing.ChildAgentPair;
import dev.ferry.controller.testing.PeakRss;
import dev.ferry.controller.testing.TestController;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.GetManifestRequest;
import dev.ferry.proto.v1.GetStatusRequest;
import dev.ferry.proto.v1.MediaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Load: a media sync of a few thousand files between two real agents, each in its own JVM with a
 * 256 MiB heap limit, while 50 client threads keep calling GetStatus and GetManifest on both. The
 * sync must complete byte-exact, every load call must succeed, and the target agent's resident set
 * (sampled from /proc every 100 ms) must stay under a bound. Prints the figures;
 * {@code bench/load.sh} runs it at other sizes.
 */
@Timeout(240)
class MediaLoadTest {
  private static final int FILES = Integer.getInteger("ferry.load.files", 3000);
  private static final int CLIENTS = Integer.getInteger("ferry.load.clients", 50);
  /**
   * The bound on the target's resident set. The heap is capped at 256 MiB; the rest is metaspace,
   * code, thread stacks and Netty's pooled direct buffers, about 100 MiB on top in our runs. A
   * leak that grew with the file count or with the callers would cross it.
   */
  private static final long RSS_BOUND = Long.getLong("ferry.load.rss_bound_mib", 420) * 1024 * 1024;

  @TempDir Path dir;

  @Test
  void aSyncUnderFiftyConcurrentCallersCompletesByteExactInBoundedMemory() throws Exception {
    TestPostgres.ensureOsUser("mastodon");
    Path sourceLive = Files.createDirectories(dir.resolve("source/live"));
    Path sourceRoot = Files.createDirectories(sourceLive.resolve("public/system"));
    long started = System.nanoTime();
    List<String> files = MediaTrees.make(sourceRoot, FILES, 2026);
    long sourceBytes = 0;
    for (String file : files) {
      sourceBytes += Files.size(sourceRoot.resolve(file));
    }
    System.out.printf("load: source tree %d files, %.1f MiB, made in %d ms%n", files.size(), sourceBytes / 1048576.0,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    Path targetMastodon = Files.createDirectories(dir.resolve("target/mastodon"));
    Path targetRoot = Files.createDirectories(targetMastodon.resolve("public-system"));

    try (ChildAgentPair agents = ChildAgentPair.start(dir, sourceLive, sourceRoot, targetMastodon, targetRoot, AgentJvm.QUICK)) {
      TestController controller = agents.controller();
      long baseline = agents.target().residentBytes();
      PeakRss peaks = PeakRss.start(agents, 100);

      // The callers: a few connections each for source and target, shared by 50 threads.
      Identity identity = controller.identity();
      List<ManagedChannel> toSource = channels(controller.home().requireHost("src"), identity, 4);
      List<ManagedChannel> toTarget = channels(controller.home().requireHost("tgt"), identity, 4);
      AtomicBoolean syncing = new AtomicBoolean(true);
      AtomicLong calls = new AtomicLong();
      List<String> failures = Collections.synchronizedList(new ArrayList<>());
      Map<String, List<Long>> latencies = new ConcurrentHashMap<>();
      CountDownLatch ready = new CountDownLatch(CLIENTS);
      List<Thread> clients = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        int n = i;
        Thread client = new Thread(() -> {
          ManagedChannel channel = (n % 2 == 0 ? toTarget : toSource).get(n % 4);
          String kind = (n % 2 == 0 ? "target " : "source ") + (n % 4 < 2 ? "GetStatus" : "GetManifest");
          ready.countDown();
          // At least three calls each, then on until the sync is over.
          for (int round = 0; round < 3 || syncing.get(); round++) {
            long t0 = System.nanoTime();
            try {
              if (kind.endsWith("GetStatus")) {
                AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .getStatus(GetStatusRequest.getDefaultInstance());
              } else {
                MediaServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .getManifest(GetManifestRequest.getDefaultInstance()).forEachRemaining(batch -> {});
              }
              calls.incrementAndGet();
              latencies.computeIfAbsent(kind, k -> Collections.synchronizedList(new ArrayList<>()))
                  .add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            } catch (StatusRuntimeException e) {
              failures.add(kind + ": " + e.getStatus());
              return;
            }
          }
        }, "load-" + i);
        clients.add(client);
        client.start();
      }
      ready.await();

      long syncStarted = System.nanoTime();
      TestController.Run sync = controller.run("media", "sync", "--from", "src", "--to", "tgt", "--json");
      long syncMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - syncStarted);
      syncing.set(false);
      for (Thread client : clients) {
        client.join(120_000);
      }
      peaks.stop();
      toSource.forEach(Channels::close);
      toTarget.forEach(Channels::close);

      System.out.printf("load: sync of %d files (%.1f MiB) took %d ms (%.1f MiB/s) under %d callers making %d calls%n",
          files.size(), sourceBytes / 1048576.0, syncMillis, sourceBytes / 1048576.0 / (syncMillis / 1000.0), CLIENTS, calls.get());
      latencies.forEach((kind, list) -> {
        List<Long> sorted = new ArrayList<>(list);
        Collections.sort(sorted);
        System.out.printf("load: %-20s %5d calls, p50 %5d ms, p99 %5d ms, max %5d ms%n", kind, sorted.size(),
            sorted.get(sorted.size() / 2), sorted.get(Math.min(sorted.size() - 1, sorted.size() * 99 / 100)), sorted.get(sorted.size() - 1));
      });
      System.out.printf("load: target agent RSS %d MiB before, peak %d MiB (bound %d MiB, heap limit %s); source peak %d MiB%n",
          baseline >> 20, peaks.target() >> 20, RSS_BOUND >> 20, ChildAgent.MAX_HEAP, peaks.source() >> 20);

      // For scale, not asserted: a plain local copy of the same tree (no network, no TLS, no hashes).
      if (Files.isExecutable(Path.of("/usr/bin/rsync"))) {
        long t0 = System.nanoTime();
        Process rsync = new ProcessBuilder("/usr/bin/rsync", "-a", sourceRoot + "/", dir.resolve("rsync-copy") + "/")
            .redirectErrorStream(true).start();
        rsync.getInputStream().readAllBytes();
        if (rsync.waitFor(120, TimeUnit.SECONDS) && rsync.exitValue() == 0) {
          System.out.printf("load: rsync -a (local, idle) of the same tree took %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
      }

      assertEquals(0, sync.exitCode(), sync.out() + sync.err());
      assertEquals(List.of(), failures, "every load call succeeds");
      assertTrue(calls.get() >= 3L * CLIENTS, "the callers ran: " + calls.get());
      MediaTrees.assertSameContent(sourceRoot, targetRoot, false);
      assertTrue(peaks.target() < RSS_BOUND, "target RSS peaked at " + (peaks.target() >> 20) + " MiB");
    }
  }

  private static List<ManagedChannel> channels(PairedHost host, Identity identity, int count) {
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      channels.add(Channels.open(host.address(), identity, PinnedTrustManager.exactly(host.fingerprint(), "agent")));
    }
    return channels;
  }
}
