package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile tar streams against the target's reader: each is refused with a clear error, and nothing
 * appears outside the root or under a real name.
 */
class MediaTarReaderTest {
  @TempDir Path dir;
  private Path root;
  private Path outside;
  private final Map<String, MediaTarReader.Planned> expected = new HashMap<>();

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectories(dir.resolve("media"));
    outside = Files.createDirectories(dir.resolve("outside"));
    Files.createDirectories(root.resolve("a"));
  }

  private void expect(String path, EntryKind kind, long size) {
    expected.put(path, new MediaTarReader.Planned(new MediaEntry(path, kind, size, 1_700_000_000_000_000_000L, 0644, ""), 0));
  }

  private MediaException read(byte[] tar) throws IOException {
    MediaTarReader reader = TarReaders.reader(root, line -> {});
    return assertThrows(MediaException.class, () -> reader.read(new ByteArrayInputStream(tar), expected));
  }

  /** Writes tar entries the way a (possibly hostile) source could. */
  private static final class Tar {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final TarArchiveOutputStream out = new TarArchiveOutputStream(bytes);

    Tar() {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    }

    Tar file(String name, byte[] data) throws IOException {
      TarArchiveEntry e = new TarArchiveEntry(name, true);
      e.setSize(data.length);
      out.putArchiveEntry(e);
      out.write(data);
      out.closeArchiveEntry();
      return this;
    }

    Tar digest(String name, String sha) throws IOException {
      TarArchiveEntry e = new TarArchiveEntry(name, true);
      e.addPaxHeader(TarFormat.KIND, TarFormat.KIND_DIGEST);
      e.addPaxHeader(TarFormat.SHA256, sha);
      out.putArchiveEntry(e);
      out.closeArchiveEntry();
      return this;
    }

    Tar fileWithDigest(String name, byte[] data) throws IOException {
      return file(name, data).digest(name, sha(data));
    }

    Tar link(String name, String target, byte type) throws IOException {
      TarArchiveEntry e = new TarArchiveEntry(name, type, true);
      e.setLinkName(target);
      out.putArchiveEntry(e);
      out.closeArchiveEntry();
      return this;
    }

    byte[] finish() throws IOException {
      out.finish();
      return bytes.toByteArray();
    }
  }

  static String sha(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void assertNothingWritten() throws IOException {
    try (Stream<Path> s = Files.walk(outside)) {
      assertEquals(List.of(outside), s.toList(), "nothing outside the root");
    }
    try (Stream<Path> s = Files.walk(root)) {
      List<Path> visible = s.filter(p -> !p.getFileName().toString().startsWith(".")).filter(p -> !Files.isDirectory(p)).toList();
      assertEquals(List.of(), visible, "no file under a real name");
    }
  }

  private static final byte[] DATA = "hello media".getBytes(StandardCharsets.UTF_8);

  @Test
  void acceptsAWellFormedStream() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
    TargetPolicy policy = new TargetPolicy(lookup.lookupPrincipalByName("root"), lookup.lookupPrincipalByGroupName("root"),
        OptionalInt.of(0640), OptionalInt.of(0750), 1 << 20);
    new MediaTarReader(new RootGuard(root), policy, new MediaTarReader.Listener() {
      @Override
      public void received(MediaEntry entry, long offset, long bytesOverWire) {}

      @Override
      public void bytes(long n) {}

      @Override
      public void refused(String line) {}
    }).read(new ByteArrayInputStream(new Tar().fileWithDigest("a/f.png", DATA).finish()), expected);
    assertEquals("hello media", Files.readString(root.resolve("a/f.png")));
    assertTrue(expected.isEmpty());
  }

  @Test
  void refusesDotDot() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().fileWithDigest("a/../../outside/f.png", DATA).finish());
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains(".."), e.getMessage());
    assertNothingWritten();
  }

  @Test
  void refusesAbsolutePaths() throws IOException {
    String target = outside.resolve("f.png").toString();
    expect(target, EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().fileWithDigest(target, DATA).finish());
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains("absolute"), e.getMessage());
    assertNothingWritten();
  }

  @Test
  void refusesSymlinksLeavingTheRoot() throws IOException {
    expect("a/l", EntryKind.SYMLINK, 0);
    MediaException e = read(new Tar().link("a/l", "../../outside", TarConstants.LF_SYMLINK).finish());
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains("escapes the media root"), e.getMessage());
    assertFalse(Files.exists(root.resolve("a/l"), LinkOption.NOFOLLOW_LINKS));
    MediaException absolute = read(new Tar().link("a/l", "/etc", TarConstants.LF_SYMLINK).finish());
    assertTrue(absolute.getMessage().contains("escapes the media root"), absolute.getMessage());
    assertNothingWritten();
  }

  @Test
  void refusesAFileWrittenThroughASymlinkedDirectory() throws IOException {
    // The target already holds a symlink to a directory outside; a file "through" it must not land there.
    Files.createSymbolicLink(root.resolve("b"), outside);
    expect("b/f.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().fileWithDigest("b/f.png", DATA).finish());
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason());
    Files.delete(root.resolve("b"));
    assertNothingWritten();
  }

  @Test
  void refusesHardlinks() throws IOException {
    expect("a/h", EntryKind.FILE, 0);
    MediaException escaping = read(new Tar().link("a/h", "../../outside/secret", TarConstants.LF_LINK).finish());
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, escaping.reason());
    assertTrue(escaping.getMessage().contains("escapes the media root"), escaping.getMessage());
    MediaException inside = read(new Tar().link("a/h", "a/other", TarConstants.LF_LINK).finish());
    assertTrue(inside.getMessage().contains("hardlink"), inside.getMessage());
    assertNothingWritten();
  }

  @Test
  void refusesEntriesThatWereNotRequested() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().fileWithDigest("a/other.png", DATA).finish());
    assertTrue(e.getMessage().contains("not requested"), e.getMessage());
    assertNothingWritten();
  }

  @Test
  void refusesDuplicates() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    expect("a/g.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().fileWithDigest("a/f.png", DATA).fileWithDigest("a/f.png", DATA).finish());
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains("sent twice"), e.getMessage());
    // The first copy was complete and verified; the duplicate changed nothing.
    assertEquals("hello media", Files.readString(root.resolve("a/f.png")));
    assertFalse(Files.exists(root.resolve("a/g.png")));
  }

  @Test
  void refusesAHashMismatch() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().file("a/f.png", DATA).digest("a/f.png", sha("other".getBytes(StandardCharsets.UTF_8))).finish());
    assertEquals(MediaException.Reason.DATA_LOSS, e.reason());
    assertTrue(e.getMessage().contains("hash mismatch"), e.getMessage());
    assertNothingWritten();
    try (Stream<Path> s = Files.list(root.resolve("a"))) {
      assertEquals(0, s.count(), "the bad partial copy is removed too");
    }
  }

  @Test
  void refusesAFileWithoutItsDigest() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().file("a/f.png", DATA).finish());
    assertEquals(MediaException.Reason.DATA_LOSS, e.reason());
    assertNothingWritten();
  }

  @Test
  void refusesATruncatedStreamKeepingOnlyAHiddenPartial() throws IOException {
    byte[] big = new byte[100_000];
    new java.util.Random(1).nextBytes(big);
    expect("a/v.mp4", EntryKind.FILE, big.length);
    byte[] whole = new Tar().fileWithDigest("a/v.mp4", big).finish();
    MediaException e = read(java.util.Arrays.copyOf(whole, 60_000));
    assertEquals(MediaException.Reason.DATA_LOSS, e.reason());
    assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("ended"), e.getMessage());
    assertNothingWritten();
  }

  @Test
  void refusesAStreamThatEndsBeforeEveryRequestArrived() throws IOException {
    expect("a/f.png", EntryKind.FILE, DATA.length);
    expect("a/g.png", EntryKind.FILE, DATA.length);
    MediaException e = read(new Tar().fileWithDigest("a/f.png", DATA).finish());
    assertEquals(MediaException.Reason.DATA_LOSS, e.reason());
    assertTrue(e.getMessage().contains("a/g.png"), e.getMessage());
  }
}
