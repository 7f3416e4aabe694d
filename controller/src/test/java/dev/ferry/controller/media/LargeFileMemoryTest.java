package dev.ferry.controller.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.agent.testing.Tmpfs;
import dev.ferry.controller.testing.AgentJvm;
import dev.ferry.controller.testing.ChildAgent;
import dev.ferry.controller.testing.ChildAgentPair;
import dev.ferry.controller.testing.PeakRss;
import dev.ferry.controller.testing.TestController;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 4 GiB file between two agents that run with the unit file's memory settings (a 192 MiB heap,
 * 32 MiB of direct memory, ExitOnOutOfMemoryError), while the receiving agent stalls twice for
 * several seconds (SIGSTOP: it reads nothing from its socket). Flow control must hold the source
 * back: a source that kept reading while the receiver stalled would queue the file at disk
 * speed, run out of heap or direct memory and exit, and the sync would fail. The file must
 * arrive byte-exact (it crosses the 2 GiB and 4 GiB offsets an int would overflow at), and both
 * agents' resident sets must stay under the 256 MiB goal the whole time.
 */
@Timeout(420)
class LargeFileMemoryTest {
  private static final long MIB = 1024 * 1024;
  private static final long SIZE = 4096 * MIB;
  /** The goal for an agent's resident set (bench/media.sh checks it on a real tree too). */
  private static final long RSS_GOAL = 256 * MIB;
  private static final String VIDEO = "media_attachments/files/000/000/001/original/big.mp4";
  private static final int FREEZE_SECONDS = 5;

  @TempDir Path dir;

  @Test
  void aFourGibFileArrivesByteExactThroughAStallingReceiverInsideTheUnitFilesMemoryLimits() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "the target's media root is a tmpfs, which needs root");
    TestPostgres.ensureOsUser("mastodon");
    Path sourceLive = Files.createDirectories(dir.resolve("source/live"));
    Path sourceRoot = Files.createDirectories(sourceLive.resolve("public/system"));
    Path video = sourceRoot.resolve(VIDEO);
    writeSparseVideo(video);

    // The target's media on a tmpfs: 4 GiB of real bytes without waiting on this machine's disk.
    Path targetMastodon = Files.createDirectories(dir.resolve("target/mastodon"));
    try (Tmpfs targetDisk = Tmpfs.mount(targetMastodon, "ferry-large-file", "size=" + (SIZE / MIB + 64) + "m")) {
      Path targetRoot = Files.createDirectories(targetMastodon.resolve("public-system"));
      try (ChildAgentPair agents =
          ChildAgentPair.start(dir, sourceLive, sourceRoot, targetMastodon, targetRoot, AgentJvm.ofUnitFile())) {
        ChildAgent source = agents.source();
        ChildAgent target = agents.target();
        TestController controller = agents.controller();
        PeakRss peaks = PeakRss.start(agents, 50);

        long started = System.nanoTime();
        CompletableFuture<TestController.Run> sync =
            CompletableFuture.supplyAsync(() -> controller.run("media", "sync", "--from", "src", "--to", "tgt", "--json"));
        FileStore targetStore = Files.getFileStore(targetDisk.path());
        long[] stalledAt = {SIZE / 4, SIZE * 5 / 8};
        long[] movedWhileFrozen = new long[stalledAt.length];
        for (int i = 0; i < stalledAt.length; i++) {
          if (!awaitUsed(targetStore, stalledAt[i], sync)) {
            fail("the sync ended before " + stalledAt[i] / MIB + " MiB had arrived: " + sync.get().err()
                + "\nsource agent " + (source.alive() ? "running" : "exited") + ", its log:\n" + Files.readString(source.log()));
          }
          target.freeze();
          try {
            Thread.sleep(200); // a write the signal caught inside the kernel completes first
            long before = used(targetStore);
            TimeUnit.SECONDS.sleep(FREEZE_SECONDS);
            movedWhileFrozen[i] = used(targetStore) - before;
            assertTrue(source.alive(), "the source agent exited while the receiver was stalled: " + Files.readString(source.log()));
          } finally {
            target.thaw();
          }
        }
        TestController.Run run = sync.get(300, TimeUnit.SECONDS);
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
        peaks.stop();

        assertEquals(0, run.exitCode(), run.err() + "\nsource log:\n" + Files.readString(source.log())
            + "\ntarget log:\n" + Files.readString(target.log()));
        assertTrue(source.alive() && target.alive(), "both agents still run");
        assertEquals(0, movedWhileFrozen[0] + movedWhileFrozen[1], "a frozen target writes nothing");
        Path copy = targetRoot.resolve(VIDEO);
        assertEquals(SIZE, Files.size(copy));
        assertEquals(-1, Files.mismatch(video, copy), "the target's copy differs from the source's file");
        System.out.printf("large file: %d MiB in %d s (two %d s stalls of the receiver); peak RSS source %d MiB, target %d MiB%n",
            SIZE / MIB, seconds, FREEZE_SECONDS, peaks.source() / MIB, peaks.target() / MIB);
        assertTrue(peaks.source() < RSS_GOAL, "source agent's peak RSS " + peaks.source() / MIB + " MiB");
        assertTrue(peaks.target() < RSS_GOAL, "target agent's peak RSS " + peaks.target() / MIB + " MiB");
      }
    }
  }

  /**
   * A sparse 4 GiB file (no disk space, read at memory speed) with random 1 MiB patches at its
   * start, across the 2 GiB offset and at its end, so a chunk at the wrong offset shows.
   */
  private static void writeSparseVideo(Path video) throws IOException {
    Files.createDirectories(video.getParent());
    Random random = new Random(4);
    byte[] patch = new byte[(int) MIB];
    try (FileChannel file = FileChannel.open(video, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long offset : new long[] {0, 2048 * MIB - MIB / 2, SIZE - MIB}) {
        random.nextBytes(patch);
        file.write(ByteBuffer.wrap(patch), offset);
      }
    }
    assertEquals(SIZE, Files.size(video));
  }

  private static long used(FileStore store) throws IOException {
    return store.getTotalSpace() - store.getUnallocatedSpace();
  }

  private static boolean awaitUsed(FileStore store, long bytes, CompletableFuture<?> sync) throws Exception {
    while (!sync.isDone()) {
      if (used(store) >= bytes) {
        return true;
      }
      Thread.sleep(20);
    }
    return false;
  }
}
