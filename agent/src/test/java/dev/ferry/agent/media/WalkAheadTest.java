package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walk-ahead lists the directories of the tree and nothing else, in the walk's own order,
 * and only a bounded number ahead of the walk.
 */
class WalkAheadTest {
  @TempDir Path dir;

  @Test
  void itsOrderIsTheManifestsOrder() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    // Names around '/' in the character order: a plain string sort would put "a.b" and "a-b" before "a/...".
    for (String d : List.of("a/b/c", "a/bb", "a.b/x", "a-b", "a0/1", "b", "A/z", "é/ü", "a b/c")) {
      Files.createDirectories(root.resolve(d));
      Files.writeString(root.resolve(d).resolve("f"), "x");
    }
    List<String> walked = new ArrayList<>();
    ManifestBuilder.walk(root, entry -> walked.add(entry.path()));
    List<String> sorted = new ArrayList<>(walked);
    sorted.sort(WalkAhead.DEPTH_FIRST);
    assertEquals(walked, sorted);
    assertTrue(walked.indexOf("a/bb") < walked.indexOf("a.b"), walked.toString());
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void listsEveryDirectoryInsideTheRootAndFollowsNoSymlink() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    Path outside = Files.createDirectories(dir.resolve("outside/deep/er"));
    Set<String> expected = new HashSet<>(Set.of(""));
    for (String d : List.of("accounts/avatars/000/000/001/original", "cache/media_attachments/000/002/small", "site_uploads")) {
      Files.createDirectories(root.resolve(d));
      Path p = Path.of(d);
      for (int i = 1; i <= p.getNameCount(); i++) {
        expected.add(p.subpath(0, i).toString());
      }
    }
    Files.createSymbolicLink(root.resolve("escape"), outside.getParent());
    Files.createSymbolicLink(root.resolve("accounts/loop"), root);
    Files.writeString(root.resolve("accounts/file.png"), "png");
    assertEquals(0, new ProcessBuilder("mkfifo", root.resolve("fifo").toString()).start().waitFor());

    Set<String> listed = ConcurrentHashMap.newKeySet();
    // Every listing counts as cold (coldNanos 0), so it never stops for a cached tree.
    try (WalkAhead ahead = new WalkAhead(root.toRealPath(), path -> false, listed::add, 0)) {
      // A walk still at the root but far along in count: only the lead's bound could hold the lister back.
      for (int i = 0; i < 100; i++) {
        ahead.visited("", 0);
      }
      awaitIdle(ahead);
    }
    assertEquals(expected, listed);
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void leavesOutWhatTheWalkLeavesOut() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    Files.createDirectories(root.resolve("cache/custom_emojis/images"));
    Files.createDirectories(root.resolve("media_attachments/files"));
    Set<String> listed = ConcurrentHashMap.newKeySet();
    try (WalkAhead ahead = new WalkAhead(root.toRealPath(), MediaPaths::isCache, listed::add, 0)) {
      for (int i = 0; i < 100; i++) {
        ahead.visited("", 0);
      }
      awaitIdle(ahead);
    }
    assertEquals(Set.of("", "media_attachments", "media_attachments/files"), listed);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void staysABoundedNumberOfDirectoriesAheadOfTheWalk() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    int directories = WalkAhead.DIRECTORIES_AHEAD + 1000;
    for (int i = 0; i < directories; i++) {
      Files.createDirectory(root.resolve(String.format("%05d", i)));
    }
    Set<String> listed = ConcurrentHashMap.newKeySet();
    try (WalkAhead ahead = new WalkAhead(root.toRealPath(), path -> false, listed::add, 0)) {
      for (int i = 0; i < WalkAhead.COLD_VISITS; i++) {
        ahead.visited("", 0); // the walk is in the root, and no further
      }
      awaitIdle(ahead);
      int first = listed.size();
      // The lead is counted from the directories the walk reported, the root COLD_VISITS times.
      int lead = WalkAhead.DIRECTORIES_AHEAD + WalkAhead.COLD_VISITS - 1;
      assertTrue(first >= WalkAhead.DIRECTORIES_AHEAD && first <= lead + WalkAhead.THREADS,
          "listed " + first + " with the walk still in the root");
      // What it listed is the start of the walk's order, where the walk goes next.
      for (int i = 0; i < WalkAhead.DIRECTORIES_AHEAD - 1; i++) {
        assertTrue(listed.contains(String.format("%05d", i)), "missing " + i);
      }

      for (int i = 0; i < 500; i++) {
        ahead.visited(String.format("%05d", i), 0);
      }
      awaitIdle(ahead);
      int second = listed.size();
      assertTrue(second >= first + 500 - WalkAhead.THREADS && second <= lead + 500 + WalkAhead.THREADS,
          "listed " + second + " after 500 more directories");

      ahead.close();
      for (int i = 500; i < 2500; i++) {
        ahead.visited(String.format("%05d", i), 0);
      }
      awaitIdle(ahead);
      assertEquals(second, listed.size(), "listed more after the walk ended");
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void listsNothingWhileTheWalkFindsTheTreeCachedAndStopsOnceItsOwnListingsAreQuick() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    for (int i = 0; i < 1000; i++) {
      Files.createDirectory(root.resolve(String.format("%04d", i)));
    }
    Set<String> listed = ConcurrentHashMap.newKeySet();
    long coldNanos = TimeUnit.MILLISECONDS.toNanos(50); // a just-created tree lists far quicker, even on a busy machine
    try (WalkAhead ahead = new WalkAhead(root.toRealPath(), path -> false, listed::add, coldNanos)) {
      for (int i = 0; i < 10; i++) {
        ahead.visited(i == 0 ? "" : String.format("%04d", i - 1), 1000);
      }
      awaitIdle(ahead);
      assertEquals(Set.of(), listed, "listed ahead of a walk that never waited");

      ahead.visited("0009", coldNanos); // the walk waited on one directory: a blip, not a cold disk
      awaitIdle(ahead);
      assertEquals(Set.of(), listed, "listed ahead after a single slow directory");
      for (int i = 10; i < 10 + WalkAhead.COLD_VISITS - 1; i++) {
        ahead.visited(String.format("%04d", i), coldNanos); // and then on more of them
      }
      awaitIdle(ahead);
      // The root (the walk is inside it: no evidence either way), then a run of quick listings.
      int count = listed.size();
      assertTrue(count >= WalkAhead.WARM_STREAK + 1 && count <= WalkAhead.WARM_STREAK + 1 + WalkAhead.THREADS,
          "listed " + count + " before stopping");
      assertTrue(listed.contains("0012") && !listed.contains("0005"), "listed behind the walk or not where it goes next");
    }
  }

  private static void awaitIdle(WalkAhead ahead) throws InterruptedException {
    // Idle twice, a little apart: a lister that just finished may have handed its work to the next.
    while (true) {
      while (!ahead.idle()) {
        Thread.sleep(5);
      }
      Thread.sleep(50);
      if (ahead.idle()) {
        return;
      }
    }
  }
}
