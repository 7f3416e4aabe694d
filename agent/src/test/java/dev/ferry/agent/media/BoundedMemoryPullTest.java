package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A media root with far more entries than fit in a small heap at a few hundred bytes each: the
 * target's pull runs in a JVM of its own capped at {@value #HEAP}, so any state that grows with
 * the number of entries (a list of every directory, a map of every request) ends in an
 * OutOfMemoryError, which is what the agent's own heap cap would do on a real server.
 */
@Timeout(300)
class BoundedMemoryPullTest {
  private static final String HEAP = "-Xmx40m";
  private static final int DIRECTORY_GROUPS = 250;
  private static final int DIRECTORIES_PER_GROUP = 1000;
  private static final int FILES = 12_000;

  @TempDir Path dir;

  @Test
  void aTreeOfAQuarterMillionDirectoriesAndTwelveThousandFilesFitsAFortyMegabyteHeap() throws Exception {
    // tmpfs when there is one: the point is memory, not how fast a disk creates directories.
    Path base = Files.isWritable(Path.of("/dev/shm")) ? Files.createTempDirectory(Path.of("/dev/shm"), "ferry-bounded-") : dir;
    try {
      Path source = base.resolve("src");
      Path target = base.resolve("dst");
      for (int i = 0; i < FILES; i++) {
        Path file = source.resolve(String.format("files/%03d/%05d.bin", i / 1000, i));
        Files.createDirectories(file.getParent());
        Files.writeString(file, "file " + i);
      }
      Files.createDirectories(target);
      Path log = dir.resolve("child.log");
      Process child = new ProcessBuilder(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(), HEAP, "-XX:+UseSerialGC",
              "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
              BoundedMemoryPullTest.class.getName(), source.toString(), target.toString())
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      assertTrue(child.waitFor(240, TimeUnit.SECONDS), "the pull did not end in time");
      String output = Files.readString(log, StandardCharsets.UTF_8);
      assertEquals(0, child.exitValue(), output);
      assertTrue(output.contains("files sent " + FILES), output);
      assertTrue(output.contains("directories created " + (FILES / 1000 + 2 + DIRECTORY_GROUPS * (DIRECTORIES_PER_GROUP + 1))), output);
      assertEquals("file 11999", Files.readString(target.resolve("files/011/11999.bin")));
      assertTrue(Files.isDirectory(target.resolve("zz/249/999")));
      System.out.println(output.strip());
    } finally {
      if (!base.equals(dir)) {
        new ProcessBuilder("rm", "-rf", base.toString()).start().waitFor(120, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * The child: pulls from the source's real files, with a manifest that also lists many
   * directories the source does not have to hold (the target creates them all).
   */
  public static void main(String[] args) throws Exception {
    Path source = Path.of(args[0]);
    Path target = Path.of(args[1]);
    LocalMediaSource real = new LocalMediaSource(source);
    MediaSource many = new MediaSource() {
      @Override
      public void manifest(ManifestBuilder.Sink sink) throws IOException {
        real.manifest(sink);
        long mtime = TimeUnit.SECONDS.toNanos(1_650_000_000L);
        sink.accept(new MediaEntry("zz", EntryKind.DIRECTORY, 0, mtime, 0755, ""));
        for (int g = 0; g < DIRECTORY_GROUPS; g++) {
          String group = String.format("zz/%03d", g);
          sink.accept(new MediaEntry(group, EntryKind.DIRECTORY, 0, mtime, 0755, ""));
          for (int d = 0; d < DIRECTORIES_PER_GROUP; d++) {
            sink.accept(new MediaEntry(String.format("%s/%03d", group, d), EntryKind.DIRECTORY, 0, mtime, 0755, ""));
          }
        }
      }

      @Override
      public java.io.InputStream read(RequestFeed requests, java.util.function.Consumer<String> onMissing) throws IOException {
        return real.read(requests, onMissing);
      }
    };
    var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
    TargetPolicy policy = new TargetPolicy(
        lookup.lookupPrincipalByName("root"), lookup.lookupPrincipalByGroupName("root"),
        OptionalInt.of(0640), OptionalInt.of(0750), TargetPolicy.DEFAULT_FSYNC_AT_LEAST);
    List<String> phases = new ArrayList<>();
    PullSummary summary = new MediaPuller(target, policy, root -> {}, Clock.systemUTC())
        .pull(many, new PullOptions(false, false, false), p -> phases.add(p.phase().name()));
    System.out.println("files sent " + summary.filesSent());
    System.out.println("directories created " + summary.directoriesCreated());
    System.out.println("peak heap used " + java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP)
        .mapToLong(p -> p.getPeakUsage().getUsed()).sum() / (1024 * 1024) + " MiB");
  }
}
