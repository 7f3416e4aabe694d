package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Someone who can write in the target's directories (the Mastodon user) swaps what the agent
 * wrote for a symlink to a file of root's: the agent's chmod and utimes must not reach that file.
 */
class NoFollowTest {
  private static final FileTime OLD = FileTime.from(1_500_000_000L, TimeUnit.SECONDS);
  private static final FileTime MEDIA = FileTime.from(1_650_000_000L, TimeUnit.SECONDS);

  @TempDir Path dir;
  private Path root;
  private Path shadow;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectory(dir.resolve("public-system"));
    shadow = Files.writeString(dir.resolve("shadow"), "root:secret\n");
    Files.setPosixFilePermissions(shadow, PosixFilePermissions.fromString("rw-------"));
    Files.setLastModifiedTime(shadow, OLD);
  }

  @Test
  void setModeRefusesASymlinkAndLeavesWhatItPointsTo() throws IOException {
    Path link = Files.createSymbolicLink(root.resolve("avatar.png"), shadow);
    MediaException e = assertThrows(MediaException.class, () -> NoFollow.setMode(link, 0644));
    assertEquals(MediaException.Reason.FAILED_PRECONDITION, e.reason());
    assertTrue(e.getMessage().contains("became a symlink"), e.getMessage());
    assertShadowUntouched();
  }

  @Test
  void setTimesOnASymlinkChangesOnlyTheLink() throws IOException {
    Path link = Files.createSymbolicLink(root.resolve("avatar.png"), shadow);
    NoFollow.setTimes(link, MEDIA);
    assertEquals(MEDIA, Files.getLastModifiedTime(link, LinkOption.NOFOLLOW_LINKS));
    assertShadowUntouched();
  }

  @Test
  void setModeAndTimesApplyToFilesAndDirectories() throws IOException {
    Path file = Files.writeString(root.resolve("f.png"), "x");
    Path sub = Files.createDirectory(root.resolve("sub"));
    NoFollow.setMode(file, 0640);
    NoFollow.setMode(sub, 0750);
    NoFollow.setTimes(file, MEDIA);
    NoFollow.setTimes(sub, MEDIA);
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(sub)));
    assertEquals(MEDIA, Files.getLastModifiedTime(file));
    assertEquals(MEDIA, Files.getLastModifiedTime(sub));
  }

  @Test
  void aPartialFileSwappedForASymlinkBeforeItsCommitIsRefused() throws Exception {
    byte[] data = "an avatar".getBytes(StandardCharsets.UTF_8);
    MediaEntry entry = new MediaEntry("a/avatar.png", EntryKind.FILE, data.length, MEDIA.to(TimeUnit.NANOSECONDS), 0644, null);
    Files.createDirectory(root.resolve("a"));
    Path target = root.resolve("a/avatar.png");
    AtomicFileWriter writer = new AtomicFileWriter(policyOfTheTestUser());
    AtomicFileWriter.Pending pending = writer.receive(target, entry, 0, new ByteArrayInputStream(data), data.length);

    Path partial = PartialFiles.partialFor(target, entry);
    Files.delete(partial);
    Files.createSymbolicLink(partial, shadow);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    MediaException e = assertThrows(MediaException.class, () -> pending.commit(sha));
    assertEquals(MediaException.Reason.FAILED_PRECONDITION, e.reason());
    assertShadowUntouched();
    assertFalse(Files.exists(target, LinkOption.NOFOLLOW_LINKS), "nothing lands under the real name");
  }

  private TargetPolicy policyOfTheTestUser() throws IOException {
    PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class);
    return new TargetPolicy(attributes.owner(), attributes.group(), OptionalInt.empty(), OptionalInt.empty(), 1 << 20);
  }

  private void assertShadowUntouched() throws IOException {
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(shadow)));
    assertEquals(OLD, Files.getLastModifiedTime(shadow));
    assertArrayEquals("root:secret\n".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(shadow));
  }
}
