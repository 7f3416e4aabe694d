package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The source's read-ahead reads only regular files inside the root, and only a bounded window. */
class ReadAheadTest {
  @TempDir Path dir;

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void readsOnlyRegularFilesInsideTheRootAndNeverWaitsOnAFifo() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    Path outside = Files.writeString(dir.resolve("outside.jpg"), "not media");
    Files.writeString(root.resolve("a.jpg"), "a");
    Files.writeString(root.resolve("b.jpg"), "b");
    Files.createSymbolicLink(root.resolve("link.jpg"), outside);
    Files.createDirectories(root.resolve("sub"));
    Files.createSymbolicLink(root.resolve("escape"), dir);
    List<FileRequest> requests = new ArrayList<>(List.of(new FileRequest("a.jpg", 0)));
    // As many fifos as there are threads: one that blocked a thread each would leave none for b.
    for (int i = 0; i < ReadAhead.THREADS; i++) {
      Path fifo = root.resolve("fifo" + i);
      assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
      requests.add(new FileRequest(fifo.getFileName().toString(), 0));
    }
    requests.addAll(List.of(new FileRequest("link.jpg", 0), new FileRequest("../outside.jpg", 0),
        new FileRequest("escape/outside.jpg", 0), new FileRequest("/etc/passwd", 0), new FileRequest("b.jpg", 0)));
    Set<String> read = ConcurrentHashMap.newKeySet();
    try (ReadAhead readAhead = new ReadAhead(root, read::add)) {
      readAhead.advance(0, requests);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (read.size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      Thread.sleep(100);
    }
    assertEquals(Set.of("a.jpg", "b.jpg"), read);
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void staysWithinItsWindowAheadOfTheWriter() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    List<FileRequest> requests = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      Files.writeString(root.resolve("f" + i), "x".repeat(i));
      requests.add(new FileRequest("f" + i, 0));
    }
    Set<String> read = ConcurrentHashMap.newKeySet();
    try (ReadAhead readAhead = new ReadAhead(root, read::add)) {
      readAhead.advance(0, requests);
      waitFor(read, ReadAhead.FILES_AHEAD);
      Thread.sleep(100);
      assertEquals(ReadAhead.FILES_AHEAD, read.size(), "read beyond the window");
      // The writer moves on by ten: ten more come within reach, and nothing is read twice.
      readAhead.advance(10, requests.subList(10, requests.size()));
      waitFor(read, ReadAhead.FILES_AHEAD + 10);
      Thread.sleep(100);
      assertEquals(ReadAhead.FILES_AHEAD + 10, read.size());
      assertTrue(read.contains("f" + (ReadAhead.FILES_AHEAD + 9)));
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aDirectorySwappedForASymlinkAfterItWasReadFromLeadsNowhere() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system/a/b"));
    Files.writeString(root.resolve("f1"), "first");
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.writeString(outside.resolve("f2"), "root-only secret");
    Set<String> read = ConcurrentHashMap.newKeySet();
    try (ReadAhead readAhead = new ReadAhead(dir.resolve("system"), read::add)) {
      List<FileRequest> requests = List.of(new FileRequest("a/b/f1", 0), new FileRequest("a/b/f2", 0));
      readAhead.advance(0, requests.subList(0, 1));
      waitFor(read, 1);
      assertEquals(Set.of("a/b/f1"), read);
      Files.move(root, dir.resolve("system/a/b-moved"));
      Files.createSymbolicLink(root, outside);
      // Checked once and opened by name later, this would read outside/f2 through the symlink.
      readAhead.advance(0, requests);
      Thread.sleep(300);
    }
    assertEquals(Set.of("a/b/f1"), read);
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void closingReleasesEveryDescriptorItsThreadsOpened() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    List<FileRequest> requests = new ArrayList<>();
    for (int i = 0; i < ReadAhead.FILES_AHEAD; i++) {
      String path = String.format("cache/%03d/%03d/original/f%d", i % 5, i, i);
      Files.createDirectories(root.resolve(path).getParent());
      Files.writeString(root.resolve(path), "x".repeat(i));
      requests.add(new FileRequest(path, 0));
    }
    long before = openDescriptors();
    Set<String> read = ConcurrentHashMap.newKeySet();
    try (ReadAhead readAhead = new ReadAhead(root, read::add)) {
      readAhead.advance(0, requests);
      waitFor(read, ReadAhead.FILES_AHEAD);
      assertEquals(ReadAhead.FILES_AHEAD, read.size());
      assertTrue(openDescriptors() > before, "its threads hold the directories they read in");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (openDescriptors() != before && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(before, openDescriptors(), "descriptors left open after close");
  }

  private static long openDescriptors() throws Exception {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  private static void waitFor(Set<String> read, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (read.size() < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
  }
}
