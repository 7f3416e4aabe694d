package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Protocol fuzz of the target's media reader: a valid tar stream, as the real source writes it for
 * a real tree, is mutated a few hundred times with a seeded random (byte flips, insertions,
 * truncation, swapped and repeated 512-byte blocks, and header rewrites with a fixed checksum so
 * that hostile names, types and sizes get past the tar parser). Every mutated stream must either
 * be read completely or be refused with a {@link MediaException}; nothing may appear outside the
 * root (sentinels on both sides of it), no hardlink may appear, every visible file must hold
 * exactly the source's bytes, and every symlink must stay inside the root.
 *
 * <p>Reproduce a failure with {@code -Dferry.fuzz.seed=SEED -Dferry.fuzz.cases=1}, SEED as printed.
 */
@Timeout(120)
class MediaStreamFuzzTest {
  private static final long BASE_SEED = Long.getLong("ferry.fuzz.seed", 20261125L);
  private static final int CASES = Integer.getInteger("ferry.fuzz.cases", 300);
  private static final int BLOCK = 512;
  private static final List<String> HOSTILE_NAMES = List.of(
      "../escape", "../../etc/cron.d/x", "/tmp/ferry-fuzz-abs", "a/../../x", "./x", "site_uploads/latest/through-link",
      "cache/../../x", "x/./y", "", "..", "a\\..\\..\\x");

  @TempDir Path dir;
  private Path source;
  private byte[] valid;
  private final Map<String, MediaEntry> manifest = new TreeMap<>();

  @BeforeEach
  void writeAValidStream() throws IOException {
    source = Files.createDirectories(dir.resolve("source"));
    MediaTrees.make(source, 24, 77);
    Path big = source.resolve("media_attachments/files/big.bin");
    byte[] data = new byte[300_000];
    new Random(5).nextBytes(data);
    Files.write(big, data);
    ManifestBuilder.walk(source, e -> manifest.put(e.path(), e));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (MediaTarWriter writer = new MediaTarWriter(source, out)) {
      for (MediaEntry entry : manifest.values()) {
        if (entry.kind() != EntryKind.DIRECTORY) {
          assertTrue(writer.write(new FileRequest(entry.path(), 0)));
        }
      }
      writer.finish();
    }
    valid = out.toByteArray();
  }

  @Test
  void theUnmutatedStreamIsReadCompletely() throws IOException {
    Path root = sandbox("clean");
    read(root, valid);
    assertSafe(root, "clean", "none");
    // Directory modes and times are the puller's job after the stream; the reader's are the files.
    for (MediaEntry entry : manifest.values()) {
      Path copy = root.resolve(entry.path());
      switch (entry.kind()) {
        case FILE -> assertArrayEquals(Files.readAllBytes(source.resolve(entry.path())), Files.readAllBytes(copy), entry.path());
        case SYMLINK -> assertEquals(entry.linkTarget(), Files.readSymbolicLink(copy).toString(), entry.path());
        case DIRECTORY -> assertTrue(Files.isDirectory(copy, LinkOption.NOFOLLOW_LINKS), entry.path());
      }
    }
  }

  @Test
  void mutatedStreamsAreReadOrRefusedCleanlyAndNeverWriteOutsideTheRoot() throws IOException {
    int refused = 0;
    int accepted = 0;
    Map<String, Integer> reasons = new TreeMap<>();
    System.out.println("media stream fuzz: base seed " + BASE_SEED + ", " + CASES + " cases");
    for (int i = 0; i < CASES; i++) {
      long seed = BASE_SEED + i;
      Random random = new Random(seed);
      List<String> applied = new ArrayList<>();
      byte[] mutated = valid.clone();
      int rounds = 1 + random.nextInt(3);
      for (int r = 0; r < rounds; r++) {
        mutated = mutate(mutated, random, applied);
      }
      Path root = sandbox("case-" + i);
      String what = "seed " + seed + " (" + String.join(", ", applied) + ")";
      try {
        read(root, mutated);
        accepted++;
      } catch (MediaException e) {
        refused++;
        reasons.merge(e.reason().name(), 1, Integer::sum);
      } catch (Throwable t) {
        fail("not a clean refusal for " + what + ": " + t, t);
      }
      assertSafe(root, "case-" + i, what);
      deleteTree(root.getParent());
    }
    System.out.println("media stream fuzz: " + accepted + " read completely, " + refused + " refused " + reasons);
    assertEquals(CASES, accepted + refused);
    assertTrue(refused > CASES / 2, "most mutations must be caught; refused only " + refused);
  }

  // --- mutations --------------------------------------------------------------------------------

  private byte[] mutate(byte[] in, Random random, List<String> applied) {
    int blocks = in.length / BLOCK;
    switch (random.nextInt(9)) {
      case 0 -> {
        int flips = 1 + random.nextInt(8);
        byte[] out = in.clone();
        for (int k = 0; k < flips; k++) {
          out[random.nextInt(out.length)] ^= (byte) (1 << random.nextInt(8));
        }
        applied.add(flips + " bit flips");
        return out;
      }
      case 1 -> {
        int at = random.nextInt(in.length);
        applied.add("truncated at " + at);
        return java.util.Arrays.copyOf(in, at);
      }
      case 2 -> {
        int a = random.nextInt(blocks);
        int b = random.nextInt(blocks);
        byte[] out = in.clone();
        System.arraycopy(in, a * BLOCK, out, b * BLOCK, BLOCK);
        System.arraycopy(in, b * BLOCK, out, a * BLOCK, BLOCK);
        applied.add("swapped blocks " + a + " and " + b);
        return out;
      }
      case 3 -> {
        int from = random.nextInt(blocks);
        int count = 1 + random.nextInt(Math.min(8, blocks - from));
        int to = random.nextInt(blocks);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(in, 0, to * BLOCK);
        out.write(in, from * BLOCK, count * BLOCK);
        out.write(in, to * BLOCK, in.length - to * BLOCK);
        applied.add("repeated " + count + " blocks from " + from + " at " + to);
        return out.toByteArray();
      }
      case 4 -> {
        int at = random.nextInt(in.length);
        byte[] junk = new byte[1 + random.nextInt(700)];
        random.nextBytes(junk);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(in, 0, at);
        out.write(junk, 0, junk.length);
        out.write(in, at, in.length - at);
        applied.add(junk.length + " random bytes at " + at);
        return out.toByteArray();
      }
      case 5 -> {
        return rewriteHeader(in, random, applied, "name");
      }
      case 6 -> {
        return rewriteHeader(in, random, applied, "type");
      }
      case 7 -> {
        return rewriteHeader(in, random, applied, "size");
      }
      default -> {
        return rewriteHeader(in, random, applied, "linkname");
      }
    }
  }

  /** Rewrites one field of a random ustar header and fixes its checksum, so the parser takes it. */
  private byte[] rewriteHeader(byte[] in, Random random, List<String> applied, String field) {
    List<Integer> headers = new ArrayList<>();
    for (int b = 0; b + BLOCK <= in.length; b += BLOCK) {
      if (isHeader(in, b)) {
        headers.add(b);
      }
    }
    if (headers.isEmpty()) {
      applied.add("no header left to rewrite");
      return in;
    }
    int at = headers.get(random.nextInt(headers.size()));
    byte[] out = in.clone();
    switch (field) {
      case "name" -> {
        String name = random.nextInt(3) == 0
            ? new ArrayList<>(manifest.keySet()).get(random.nextInt(manifest.size())) // a duplicate
            : HOSTILE_NAMES.get(random.nextInt(HOSTILE_NAMES.size()));
        put(out, at, 100, name);
        applied.add("header at " + at + " named '" + name + "'");
      }
      case "type" -> {
        char type = "0123456xgLK".charAt(random.nextInt(11));
        out[at + 156] = (byte) type;
        applied.add("header at " + at + " typed '" + type + "'");
      }
      case "size" -> {
        String size = List.of("77777777777", "00000000000", "00000001000", "-0000000001", "7777777777\0", "10000000000")
            .get(random.nextInt(6));
        put(out, at + 124, 12, size);
        applied.add("header at " + at + " sized '" + size.replace("\0", "\\0") + "'");
      }
      default -> {
        String link = List.of("/etc/passwd", "../../outside", "..", "a/../../../x", "files/000").get(random.nextInt(5));
        put(out, at + 157, 100, link);
        out[at + 156] = (byte) (random.nextBoolean() ? '1' : '2');
        applied.add("header at " + at + " linked to '" + link + "'");
      }
    }
    fixChecksum(out, at);
    return out;
  }

  private static void put(byte[] out, int at, int length, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    java.util.Arrays.fill(out, at, at + length, (byte) 0);
    System.arraycopy(bytes, 0, out, at, Math.min(length, bytes.length));
  }

  private static boolean isHeader(byte[] b, int at) {
    String stored = new String(b, at + 148, 8, StandardCharsets.US_ASCII).replace('\0', ' ').trim();
    if (stored.isEmpty() || !stored.matches("[0-7]+")) {
      return false;
    }
    return Long.parseLong(stored, 8) == checksum(b, at);
  }

  private static long checksum(byte[] b, int at) {
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += i >= 148 && i < 156 ? ' ' : (b[at + i] & 0xff);
    }
    return sum;
  }

  private static void fixChecksum(byte[] b, int at) {
    String field = String.format("%06o", checksum(b, at));
    System.arraycopy(field.getBytes(StandardCharsets.US_ASCII), 0, b, at + 148, 6);
    b[at + 154] = 0;
    b[at + 155] = ' ';
  }

  // --- reading and checking ---------------------------------------------------------------------

  /** A fresh root between two sentinel directories, each holding a file. */
  private Path sandbox(String name) throws IOException {
    Path box = Files.createDirectories(dir.resolve("boxes").resolve(name));
    for (String sentinel : List.of("a-before", "z-after")) {
      Files.createDirectories(box.resolve(sentinel));
      Files.writeString(box.resolve(sentinel).resolve("sentinel"), sentinel);
    }
    return Files.createDirectories(box.resolve("root"));
  }

  private void read(Path root, byte[] stream) throws IOException {
    Map<String, MediaTarReader.Planned> expected = new HashMap<>();
    manifest.values().stream().filter(e -> e.kind() != EntryKind.DIRECTORY)
        .forEach(e -> expected.put(e.path(), new MediaTarReader.Planned(e, 0)));
    MediaTarReader reader = TarReaders.reader(root, line -> {});
    reader.read(new ByteArrayInputStream(stream), expected);
  }

  private void assertSafe(Path root, String name, String what) throws IOException {
    Path box = root.getParent();
    try (Stream<Path> all = Files.walk(box)) {
      List<String> outsideRoot = all.filter(p -> !p.startsWith(root)).map(p -> box.relativize(p).toString()).sorted().toList();
      assertEquals(List.of("", "a-before", "a-before/sentinel", "z-after", "z-after/sentinel"), outsideRoot,
          "written outside the root by " + what);
    }
    for (String sentinel : List.of("a-before", "z-after")) {
      assertEquals(sentinel, Files.readString(box.resolve(sentinel).resolve("sentinel")), what);
    }
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : all.toList()) {
        String relative = root.relativize(p).toString();
        if (p.equals(root) || p.getFileName().toString().startsWith(".")) {
          continue;
        }
        if (Files.isSymbolicLink(p)) {
          String target = Files.readSymbolicLink(p).toString();
          assertTrue(MediaPaths.symlinkDestination(relative, target) != null, relative + " -> " + target + " leaves the root after " + what);
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          assertEquals(1, (int) Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS), "a hardlink after " + what);
          Path original = source.resolve(relative);
          assertTrue(Files.isRegularFile(original, LinkOption.NOFOLLOW_LINKS), relative + " is not a source file, after " + what);
          assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(p), relative + " differs from the source after " + what);
        }
      }
    }
  }

  private static void deleteTree(Path path) throws IOException {
    try (Stream<Path> all = Files.walk(path)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
