package dev.ferry.controller.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.media.MediaTrees;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.agent.testing.Tmpfs;
import dev.ferry.controller.testing.TestController;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry media sync} between two real agents over mutual TLS: the target pulls from the
 * source with a ticket the controller signed, and the result is checked file by file.
 */
@Timeout(180)
class MediaSyncTest {
  @TempDir Path dir;
  MediaHosts hosts;

  @BeforeAll
  static void mastodonUser() throws Exception {
    TestPostgres.ensureOsUser("mastodon");
  }

  @BeforeEach
  void start() throws Exception {
    hosts = MediaHosts.start(dir);
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  static JsonObject json(TestController.Run run) {
    assertEquals(0, run.exitCode(), run.err());
    return JsonParser.parseString(run.out()).getAsJsonObject();
  }

  @Test
  void copiesAByteExactTreeWithTheTargetsOwnerAndModesThenANoOp() throws Exception {
    List<String> files = MediaTrees.make(hosts.sourceRoot(), 200, 11);
    Files.createSymbolicLink(hosts.sourceRoot().resolve("escape"), Path.of("/etc"));

    JsonObject first = json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--json"));
    assertEquals(files.size() + 1, first.get("files_sent").getAsLong(), first.toString());
    assertEquals(1, first.getAsJsonArray("refusals").size(), first.toString());
    assertTrue(first.getAsJsonArray("refusals").get(0).getAsString().contains("escape"));
    MediaTrees.assertSameContent(hosts.sourceRoot(), hosts.targetRoot(), false);
    assertFalse(Files.exists(hosts.targetRoot().resolve("escape"), LinkOption.NOFOLLOW_LINKS));

    try (Stream<Path> all = Files.walk(hosts.targetRoot())) {
      for (Path p : all.toList()) {
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        assertEquals("mastodon", a.owner().getName(), p.toString());
        assertEquals("mastodon", a.group().getName(), p.toString());
        if (a.isRegularFile()) {
          assertEquals("rw-r-----", PosixFilePermissions.toString(a.permissions()), p.toString());
        } else if (a.isDirectory()) {
          assertEquals("rwxr-x---", PosixFilePermissions.toString(a.permissions()), p.toString());
        }
      }
    }

    JsonObject again = json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--json"));
    assertEquals(0, again.get("files_sent").getAsLong(), again.toString());
    assertEquals(0, again.get("bytes_sent").getAsLong(), again.toString());
    assertEquals(files.size() + 1, again.get("files_skipped").getAsLong());

    TestController.Run human = hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt");
    assertEquals(0, human.exitCode(), human.err());
    assertTrue(human.out().contains("up to date"), human.out());
    assertEquals("", human.err(), "no progress on stderr when it is not a terminal");
  }

  @Test
  void deletesOnlyWithDelete() throws Exception {
    List<String> files = MediaTrees.make(hosts.sourceRoot(), 30, 12);
    json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--json"));
    Files.delete(hosts.sourceRoot().resolve(files.get(0)));

    JsonObject keep = json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--json"));
    assertEquals(0, keep.get("files_deleted").getAsLong());
    assertTrue(Files.exists(hosts.targetRoot().resolve(files.get(0))));

    JsonObject dry = json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--delete", "--dry-run", "--json"));
    assertEquals(1, dry.get("files_deleted").getAsLong());
    assertTrue(Files.exists(hosts.targetRoot().resolve(files.get(0))), "a dry run deletes nothing");

    JsonObject delete = json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--delete", "--json"));
    assertEquals(1, delete.get("files_deleted").getAsLong(), delete.toString());
    assertFalse(Files.exists(hosts.targetRoot().resolve(files.get(0))));
    MediaTrees.assertSameContent(hosts.sourceRoot(), hosts.targetRoot(), false);
  }

  @Test
  void excludeCacheSkipsCacheAndPrintsTheRebuildCommands() throws Exception {
    MediaTrees.make(hosts.sourceRoot(), 30, 13);
    TestController.Run run = hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--exclude-cache");
    assertEquals(0, run.exitCode(), run.err());
    assertFalse(Files.exists(hosts.targetRoot().resolve("cache")));
    MediaTrees.assertSameContent(hosts.sourceRoot(), hosts.targetRoot(), true);
    assertTrue(run.out().contains("tootctl accounts refresh --all"), run.out());
    assertTrue(run.out().contains("tootctl media refresh"), run.out());
  }

  @Test
  void resumesAfterTheSourceAgentDiesMidFile() throws Exception {
    MediaTrees.make(hosts.sourceRoot(), 20, 15);
    Path video = hosts.sourceRoot().resolve("media_attachments/files/109/000/video.mp4");
    Files.createDirectories(video.getParent());
    long size = 256L * 1024 * 1024;
    try (var out = Files.newOutputStream(video)) {
      java.util.Random random = new java.util.Random(4);
      byte[] block = new byte[1024 * 1024];
      for (long written = 0; written < size; written += block.length) {
        random.nextBytes(block);
        out.write(block);
      }
    }
    Path targetDir = hosts.targetRoot().resolve("media_attachments/files/109/000");
    java.util.concurrent.atomic.AtomicReference<TestController.Run> cut = new java.util.concurrent.atomic.AtomicReference<>();
    Thread sync = new Thread(() -> cut.set(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--json")));
    sync.start();
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    Path partial = null;
    while (partial == null && System.nanoTime() < deadline) {
      partial = partialOver(targetDir, 32L * 1024 * 1024);
      if (partial == null) {
        Thread.sleep(2);
      }
    }
    assertTrue(partial != null, "the big file started arriving");
    hosts.source().close();
    sync.join(60_000);
    assertEquals(1, cut.get().exitCode(), cut.get().out() + cut.get().err());
    assertTrue(cut.get().err().contains("source agent"), cut.get().err());
    assertNoVisibleFile(hosts.targetRoot(), "media_attachments/files/109/000/video.mp4");
    long kept = Files.size(partial);
    assertTrue(kept < size, "the cut came mid-file");

    hosts.restartSource(dir);
    JsonObject resumed = json(hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt", "--json"));
    assertEquals(1, resumed.get("files_resumed").getAsLong(), resumed.toString());
    long resent = resumed.get("bytes_sent").getAsLong();
    long smallFiles = 20 * 20_000;
    assertTrue(resent <= size - kept + 1024 * 1024 + smallFiles,
        "re-sent " + resent + " bytes; at most the missing " + (size - kept) + " plus a 1 MiB tail (and the small files not yet sent)");
    MediaTrees.assertSameContent(hosts.sourceRoot(), hosts.targetRoot(), false);
    assertFalse(Files.exists(partial), "the partial file became the real one");
  }

  private static Path partialOver(Path dir, long bytes) throws IOException {
    if (!Files.isDirectory(dir)) {
      return null;
    }
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : list.toList()) {
        try {
          if (p.getFileName().toString().endsWith(".ferry-part") && Files.size(p) > bytes) {
            return p;
          }
        } catch (java.nio.file.NoSuchFileException gone) {
          // renamed meanwhile
        }
      }
    }
    return null;
  }

  @Test
  void usageErrorsExitTwo() {
    assertEquals(2, hosts.controller().run("media", "sync", "--from", "src").exitCode());
    assertEquals(2, hosts.controller().run("media", "sync", "--from", "src", "--to", "nowhere").exitCode());
    assertEquals(2, hosts.controller().run("media", "sync", "--from", "src", "--to", "src").exitCode());
  }

  @Test
  void aFullTargetDiskStopsWithAClearErrorAndNoPartialFileUnderARealName() throws Exception {
    Path small = Files.createDirectories(dir.resolve("small"));
    hosts.close();
    try (Tmpfs disk = Tmpfs.mount(small, "tmpfs", "size=4m")) {
      try {
        hosts = MediaHosts.start(dir.resolve("full"), disk.path().resolve("mastodon"));
        MediaTrees.make(hosts.sourceRoot(), 20, 14);
        Path video = hosts.sourceRoot().resolve("media_attachments/files/000/video.mp4");
        Files.createDirectories(video.getParent());
        byte[] data = new byte[6 * 1024 * 1024];
        new java.util.Random(3).nextBytes(data);
        Files.write(video, data);

        TestController.Run run = hosts.controller().run("media", "sync", "--from", "src", "--to", "tgt");
        assertEquals(1, run.exitCode(), run.out());
        assertTrue(run.err().contains("disk is full"), run.err());
        assertFalse(Files.exists(hosts.targetRoot().resolve("media_attachments/files/000/video.mp4")));
        try (Stream<Path> all = Files.walk(hosts.targetRoot())) {
          for (Path p : all.filter(Files::isRegularFile).toList()) {
            String name = p.getFileName().toString();
            if (!name.startsWith(".")) {
              Path source = hosts.sourceRoot().resolve(hosts.targetRoot().relativize(p));
              assertTrue(java.util.Arrays.equals(Files.readAllBytes(source), Files.readAllBytes(p)), "only complete files under real names: " + p);
            }
          }
        }
      } finally {
        hosts.close();
      }
    }
  }

  /** Two paired agents: an Ubuntu-like source and a NixOS-like target. */
  record MediaHosts(TestController controller, TestAgent[] agents, Path sourceRoot, Path targetRoot, Map<ConfigKey, String> sourceConfig)
      implements AutoCloseable {

    static MediaHosts start(Path dir) throws Exception {
      return start(dir, dir.resolve("target/mastodon"));
    }

    static MediaHosts start(Path dir, Path targetMastodon) throws Exception {
      Path sourceRoot = Files.createDirectories(dir.resolve("source/live/public/system"));
      Files.createDirectories(targetMastodon);
      Path targetRoot = targetMastodon.resolve("public-system");
      Map<ConfigKey, String> sourceConfig = Map.of(
          ConfigKey.LAYOUT, "ubuntu",
          ConfigKey.MASTODON_ROOT, dir.resolve("source/live").toString(),
          ConfigKey.MEDIA_ROOT, sourceRoot.toString());
      TestAgent source = TestAgent.start(Files.createDirectories(dir.resolve("agent-src")), sourceConfig);
      TestAgent target = TestAgent.start(Files.createDirectories(dir.resolve("agent-tgt")), Map.of(
          ConfigKey.LAYOUT, "nixos",
          ConfigKey.MASTODON_ROOT, targetMastodon.toString(),
          ConfigKey.MEDIA_ROOT, targetRoot.toString(),
          ConfigKey.MASTODON_USER, "mastodon",
          ConfigKey.MASTODON_GROUP, "mastodon"));
      TestController controller = new TestController(Files.createDirectories(dir.resolve("controller")));
      controller.pair("src", source);
      controller.pair("tgt", target);
      return new MediaHosts(controller, new TestAgent[] {source, target}, sourceRoot, targetRoot, sourceConfig);
    }

    TestAgent source() {
      return agents[0];
    }

    TestAgent target() {
      return agents[1];
    }

    /** Stops the source agent (as a crash would cut the link) and starts it again on the same state. */
    void restartSource(Path dir) throws Exception {
      agents[0].close();
      agents[0] = TestAgent.start(dir.resolve("agent-src"), sourceConfig);
      controller.pair("src", agents[0]);
    }

    @Override
    public void close() {
      for (TestAgent agent : agents) {
        agent.close();
      }
    }
  }

  static void assertNoVisibleFile(Path root, String path) throws IOException {
    assertFalse(Files.exists(root.resolve(path), LinkOption.NOFOLLOW_LINKS), path + " must not exist under its real name");
  }
}
