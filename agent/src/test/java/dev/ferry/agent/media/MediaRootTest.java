package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Mastodon user owns the directories above the media root; a symlink it puts in place of
 * public/system must not make the root agent list, send or open what the link points to.
 */
class MediaRootTest {
  @TempDir Path dir;

  @Test
  void theSourceRefusesARootSymlinkedByAnyoneButRoot() throws IOException {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give the link another owner");
    Path secrets = Files.createDirectory(dir.resolve("etc"));
    Files.writeString(secrets.resolve("shadow"), "root:secret\n");
    Path live = Files.createDirectories(dir.resolve("live/public"));
    Path system = Files.createSymbolicLink(live.resolve("system"), secrets);
    Files.getFileAttributeView(system, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setOwner(FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));

    List<MediaEntry> listed = new ArrayList<>();
    MediaException walk = assertThrows(MediaException.class, () -> ManifestBuilder.walk(system, listed::add));
    assertEquals(MediaException.Reason.FAILED_PRECONDITION, walk.reason());
    assertTrue(walk.getMessage().contains("a symlink (to " + secrets + ") that uid "), walk.getMessage());
    assertEquals(List.of(), listed);
    MediaException open = assertThrows(MediaException.class, () -> new SourceFiles(system).close());
    assertEquals(MediaException.Reason.FAILED_PRECONDITION, open.reason());
  }

  @Test
  void aSymlinkThatRootOwnsIsFollowed() throws IOException {
    Path disk = Files.createDirectories(dir.resolve("disk/system"));
    Files.writeString(disk.resolve("a.png"), "x");
    Path live = Files.createDirectories(dir.resolve("live/public"));
    Path system = Files.createSymbolicLink(live.resolve("system"), disk);
    Assumptions.assumeTrue(
        (Integer) Files.getAttribute(system, "unix:uid", LinkOption.NOFOLLOW_LINKS) == 0, "the link must be root's");
    assertEquals(disk.toRealPath(), MediaRoot.resolve(system));
    List<MediaEntry> listed = new ArrayList<>();
    ManifestBuilder.walk(system, listed::add);
    assertEquals(List.of("a.png"), listed.stream().map(MediaEntry::path).toList());
  }

  @Test
  // In a thread of its own, so that an open stuck on the fifo fails the test instead of hanging it.
  @org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void openRefusesAFifoInsteadOfWaitingForAWriter() throws Exception {
    Path fifo = dir.resolve("system");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
    MediaException e = assertThrows(MediaException.class, () -> MediaRoot.open(fifo.toRealPath()));
    assertEquals(MediaException.Reason.FAILED_PRECONDITION, e.reason());
  }

  @Test
  void openGoesDownFromSlashAndRefusesASymlinkOnTheWay() throws IOException {
    Path real = Files.createDirectories(dir.resolve("a/b")).toRealPath();
    try (SecureDirectoryStream<Path> handle = MediaRoot.open(real)) {
      assertEquals(Files.readAttributes(real, java.nio.file.attribute.BasicFileAttributes.class).fileKey(),
          handle.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey());
    }
    // A path that is not real any more: a directory on the way swapped for a symlink.
    Files.move(dir.resolve("a"), dir.resolve("a.moved"));
    Files.createSymbolicLink(dir.resolve("a"), dir.resolve("a.moved"));
    MediaException e = assertThrows(MediaException.class, () -> MediaRoot.open(real));
    assertEquals(MediaException.Reason.FAILED_PRECONDITION, e.reason());
    assertTrue(e.getMessage().contains("changed while it was opened"), e.getMessage());
  }
}
