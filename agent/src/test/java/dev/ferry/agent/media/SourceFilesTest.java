package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source opens requested files without following a symlink anywhere on the way, even when a
 * directory is swapped for one between two requests, and a directory that has gone makes a file
 * missing rather than the request unsafe.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SourceFilesTest {
  private static final String SECRET = "root-only secret";

  @TempDir Path dir;

  private Path root() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system/a/b"));
    Files.writeString(root.resolve("f1"), "first");
    Files.createDirectories(dir.resolve("outside"));
    Files.writeString(dir.resolve("outside/f2"), SECRET);
    return dir.resolve("system");
  }

  /** Moves {@code a/b} aside and puts a symlink to the outside directory in its place. */
  private void swapForSymlink(Path root) throws Exception {
    Files.move(root.resolve("a/b"), root.resolve("a/b-moved"));
    Files.createSymbolicLink(root.resolve("a/b"), dir.resolve("outside"));
  }

  @Test
  void aDirectorySwappedForASymlinkAfterItWasOpenedLeadsNowhere() throws Exception {
    Path root = root();
    try (SourceFiles files = new SourceFiles(root)) {
      try (SourceFiles.Entry first = files.open("a/b/f1")) {
        assertEquals("first", read(first));
      }
      swapForSymlink(root);
      // Checked once and then opened by name, this would read outside/f2 through the symlink.
      assertNull(files.open("a/b/f2"));
    }
  }

  @Test
  void aSymlinkedDirectoryOnTheWayIsRefused() throws Exception {
    Path root = root();
    swapForSymlink(root);
    try (SourceFiles files = new SourceFiles(root)) {
      MediaException refused = assertThrows(MediaException.class, () -> files.open("a/b/f2"));
      assertEquals(MediaException.Reason.INVALID_ARGUMENT, refused.reason());
      assertTrue(refused.getMessage().contains("symlinks are not followed"), refused.getMessage());
      assertThrows(MediaException.class, () -> files.open("../outside/f2"));
      assertThrows(MediaException.class, () -> files.open("/etc/passwd"));
    }
  }

  @Test
  void aSymlinkBesideOrAboveWhatIsOpenIsRefusedToo() throws Exception {
    Path root = root();
    try (SourceFiles files = new SourceFiles(root)) {
      try (SourceFiles.Entry first = files.open("a/b/f1")) {
        assertNotNull(first);
      }
      // Shares a/ with the open chain; only the link itself differs.
      Files.createSymbolicLink(root.resolve("a/c"), dir.resolve("outside"));
      assertThrows(MediaException.class, () -> files.open("a/c/f2"));
      Files.createSymbolicLink(root.resolve("linked"), dir);
      assertThrows(MediaException.class, () -> files.open("linked/outside/f2"));
      try (SourceFiles.Entry again = files.open("a/b/f1")) {
        assertEquals("first", read(again));
      }
    }
  }

  @Test
  void aDirectoryThatHasGoneMakesTheFileMissing() throws Exception {
    Path root = root();
    try (SourceFiles files = new SourceFiles(root)) {
      assertNull(files.open("cache/accounts/000/000/001/original/gone.png"));
      try (SourceFiles.Entry first = files.open("a/b/f1")) {
        assertNotNull(first);
      }
      // Deleted with its directory (Mastodon removes emptied ones) after the manifest listed it.
      Files.delete(root.resolve("a/b/f1"));
      Files.delete(root.resolve("a/b"));
      assertNull(files.open("a/b/f1"));
      assertNull(files.open("a/c/f1"));
    }
  }

  @Test
  void fifosAreNeitherOpenedNorWaitedOn() throws Exception {
    Path root = root();
    assertEquals(0, new ProcessBuilder("mkfifo", root.resolve("a/fifo").toString()).start().waitFor());
    try (SourceFiles files = new SourceFiles(root)) {
      assertNull(files.open("a/fifo"));
      assertThrows(MediaException.class, () -> files.open("a/fifo/f1"));
    }
  }

  @Test
  void symlinksInsideAreListedWithTheirTarget() throws Exception {
    Path root = root();
    Files.createSymbolicLink(root.resolve("a/b/link"), Path.of("f1"));
    try (SourceFiles files = new SourceFiles(root);
        SourceFiles.Entry link = files.open("a/b/link")) {
      assertEquals("f1", link.linkTarget());
      assertNull(link.channel());
    }
  }

  @Test
  void theTarWriterSendsNothingFromBehindASwappedDirectory() throws Exception {
    Path root = root();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (MediaTarWriter writer = new MediaTarWriter(root, out)) {
      assertTrue(writer.write(new FileRequest("a/b/f1", 0)));
      swapForSymlink(root);
      assertFalse(writer.write(new FileRequest("a/b/f2", 0)));
      writer.finish();
    }
    assertFalse(out.toString(StandardCharsets.ISO_8859_1).contains(SECRET));
    assertTrue(out.toString(StandardCharsets.ISO_8859_1).contains("first"));
  }

  private static String read(SourceFiles.Entry entry) throws Exception {
    ByteBuffer buffer = ByteBuffer.allocate(64);
    entry.channel().read(buffer, 0);
    return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
  }
}
