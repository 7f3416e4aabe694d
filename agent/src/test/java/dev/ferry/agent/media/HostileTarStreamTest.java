package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile tar streams from a source, one row each, against the target's reader: sizes that do not
 * match the manifest (huge, negative), names with NUL, entries out of order or repeated. Each row
 * names the outcome (a refusal code, or the bytes that may land under the requested name), and
 * after each nothing is written outside the root and nothing else lands under a real name.
 *
 * <p>A size other than the manifest's is written, not refused: during a live pre-sync a file can
 * change between the manifest and the read, and what arrives is checked against the source's
 * hash. A lying source gains nothing by it (it could announce the same sizes in its manifest); a
 * full disk stops the pull with RESOURCE_EXHAUSTED and no partial file under a real name.
 */
class HostileTarStreamTest {
  private static final String NAME = "accounts/a.png";
  private static final byte[] DATA = "eleven byte".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  /**
   * A stream and what must come of it: a refusal reason ("" for any), or null and the bytes
   * that land under the requested name.
   */
  record Row(String name, String refusal, byte[] written, Stream stream) {
    Row(String name, String refusal, Stream stream) {
      this(name, refusal, null, stream);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  @FunctionalInterface
  interface Stream {
    void write(TarArchiveOutputStream tar) throws IOException;
  }

  static List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    rows.add(new Row("one MiB more than the manifest said (grew since): written, hash-checked", null, new byte[1 << 20], tar -> {
      file(tar, NAME, new byte[1 << 20], Map.of());
      digest(tar, NAME, MediaTarReaderTest.sha(new byte[1 << 20]));
    }));
    rows.add(new Row("fewer bytes than the manifest said (shrank since): written, hash-checked", null, new byte[3], tar -> {
      file(tar, NAME, new byte[3], Map.of());
      digest(tar, NAME, MediaTarReaderTest.sha(new byte[3]));
    }));
    // commons-compress will not write these sizes, so the PAX records are written by hand.
    rows.add(new Row("a PAX size of Long.MAX_VALUE", "", tar -> {
      pax(tar, "size", Long.toString(Long.MAX_VALUE));
      file(tar, NAME, DATA, Map.of());
    }));
    rows.add(new Row("a negative PAX size", "", tar -> {
      pax(tar, "size", "-5");
      file(tar, NAME, DATA, Map.of());
    }));
    rows.add(new Row("a negative resume offset", "INVALID_ARGUMENT", tar -> {
      file(tar, NAME, DATA, Map.of(TarFormat.OFFSET, "-1"));
      digest(tar, NAME, MediaTarReaderTest.sha(DATA));
    }));
    rows.add(new Row("an offset beyond the one requested", "INVALID_ARGUMENT", tar -> {
      file(tar, NAME, new byte[1], Map.of(TarFormat.OFFSET, "10"));
      digest(tar, NAME, MediaTarReaderTest.sha(DATA));
    }));
    // The tar parser cuts the name at the NUL: what is left is the requested path, so the
    // verified bytes land exactly where they were asked for.
    rows.add(new Row("a PAX path with a NUL byte ends at the NUL", null, DATA, tar -> {
      file(tar, "x", DATA, Map.of("path", "accounts/a.png\0/../../../escape"));
      digest(tar, NAME, MediaTarReaderTest.sha(DATA));
    }));
    rows.add(new Row("a PAX path leaving the root", "INVALID_ARGUMENT", tar -> {
      file(tar, "x", DATA, Map.of("path", "../escape"));
    }));
    rows.add(new Row("the digest before its file (wrong order)", "INVALID_ARGUMENT", tar -> {
      digest(tar, NAME, MediaTarReaderTest.sha(DATA));
      file(tar, NAME, DATA, Map.of());
    }));
    rows.add(new Row("the digest of another file after it", "INVALID_ARGUMENT", tar -> {
      file(tar, NAME, DATA, Map.of());
      digest(tar, "accounts/b.png", MediaTarReaderTest.sha(DATA));
    }));
    rows.add(new Row("the same file twice", "INVALID_ARGUMENT", tar -> {
      file(tar, NAME, DATA, Map.of());
      digest(tar, NAME, MediaTarReaderTest.sha(DATA));
      file(tar, NAME, DATA, Map.of());
      digest(tar, NAME, MediaTarReaderTest.sha(DATA));
    }));
    rows.add(new Row("a digest that is not hex", "INVALID_ARGUMENT", tar -> {
      file(tar, NAME, DATA, Map.of());
      digest(tar, NAME, "$(reboot)" + "0".repeat(55));
    }));
    rows.add(new Row("a directory entry", "INVALID_ARGUMENT", tar -> {
      TarArchiveEntry e = new TarArchiveEntry(NAME + "/", true);
      tar.putArchiveEntry(e);
      tar.closeArchiveEntry();
    }));
    return rows;
  }

  private static void file(TarArchiveOutputStream tar, String name, byte[] data, Map<String, String> pax) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name, true);
    e.setSize(data.length);
    pax.forEach(e::addPaxHeader);
    tar.putArchiveEntry(e);
    tar.write(data);
    tar.closeArchiveEntry();
  }

  /** A PAX extended header entry holding one record, as raw bytes. */
  private static void pax(TarArchiveOutputStream tar, String key, String value) throws IOException {
    String record = " " + key + "=" + value + "\n";
    int length = record.length() + 1;
    while (Integer.toString(length).length() + record.length() != length) {
      length++;
    }
    byte[] body = (length + record).getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry e = new TarArchiveEntry("PaxHeaders/x", org.apache.commons.compress.archivers.tar.TarConstants.LF_PAX_EXTENDED_HEADER_LC);
    e.setSize(body.length);
    tar.putArchiveEntry(e);
    tar.write(body);
    tar.closeArchiveEntry();
  }

  private static void digest(TarArchiveOutputStream tar, String name, String sha) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name, true);
    e.addPaxHeader(TarFormat.KIND, TarFormat.KIND_DIGEST);
    e.addPaxHeader(TarFormat.SHA256, sha);
    tar.putArchiveEntry(e);
    tar.closeArchiveEntry();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void refusedOrSkippedWithoutWriting(Row row) throws IOException {
    Path root = Files.createDirectories(dir.resolve("box/root"));
    Files.createDirectories(dir.resolve("box/sentinel"));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes, "UTF-8")) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      row.stream().write(tar);
      tar.finish();
    }
    Map<String, MediaTarReader.Planned> expected = new HashMap<>();
    expected.put(NAME, new MediaTarReader.Planned(new MediaEntry(NAME, EntryKind.FILE, DATA.length, 1_700_000_000_000_000_000L, 0644, ""), 0));
    List<String> refusals = new ArrayList<>();
    MediaTarReader reader = TarReaders.reader(root, refusals::add);
    try {
      reader.read(new ByteArrayInputStream(bytes.toByteArray()), expected);
      if (row.refusal() != null) {
        fail(row.name() + " was accepted");
      }
      assertTrue(java.util.Arrays.equals(row.written(), Files.readAllBytes(root.resolve(NAME))), "the streamed, verified bytes");
      assertEquals(List.of(), refusals);
    } catch (MediaException e) {
      if (row.refusal() == null) {
        fail(row.name() + " was refused: " + e.getMessage(), e);
      }
      if (!row.refusal().isEmpty()) {
        assertEquals(row.refusal(), e.reason().name(), e.getMessage());
      }
    }
    try (java.util.stream.Stream<Path> all = Files.walk(dir.resolve("box"))) {
      for (Path p : all.toList()) {
        String relative = dir.resolve("box").relativize(p).toString();
        assertTrue(relative.isEmpty() || relative.equals("sentinel") || relative.startsWith("root"), "outside the root: " + relative);
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          // Only the requested name may be real, holding bytes the source's hash vouched for
          // (a duplicate is refused after the first copy landed).
          if (!p.getFileName().toString().startsWith(".")) {
            assertEquals(root.resolve(NAME), p, "under a real name: " + relative);
            byte[] expectedBytes = row.written() != null ? row.written() : DATA;
            assertTrue(java.util.Arrays.equals(expectedBytes, Files.readAllBytes(p)), relative);
          }
        }
      }
    }
  }
}
