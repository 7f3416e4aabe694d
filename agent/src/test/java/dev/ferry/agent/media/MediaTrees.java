package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Builds small Mastodon-shaped media trees and compares them, for tests. */
public final class MediaTrees {
  private MediaTrees() {}

  /** Writes a tree with top-level folders, cache/, odd modes and an inside symlink; returns the file paths. */
  public static List<String> make(Path root, int files, long seed) throws IOException {
    Random random = new Random(seed);
    List<String> paths = new ArrayList<>();
    String[] tops = {"accounts/avatars", "media_attachments/files", "custom_emojis/images", "site_uploads/files", "cache/media_attachments/files", "cache/accounts/headers"};
    for (int i = 0; i < files; i++) {
      String path = String.format("%s/%03d/%03d/%03d/original/%08x.bin", tops[i % tops.length], i / 100, i % 7, i, random.nextInt());
      Path file = root.resolve(path);
      Files.createDirectories(file.getParent());
      byte[] data = new byte[random.nextInt(20_000)];
      random.nextBytes(data);
      Files.write(file, data);
      Files.setPosixFilePermissions(file, ManifestBuilder.permissions(i % 5 == 0 ? 0600 : 0644));
      Files.setLastModifiedTime(file, FileTime.from(1_600_000_000_000_000_000L + random.nextInt(1_000_000) * 1_000_123L, TimeUnit.NANOSECONDS));
      paths.add(path);
    }
    Files.createDirectories(root.resolve("site_uploads"));
    Files.createSymbolicLink(root.resolve("site_uploads/latest"), Path.of("files/000/000/003"));
    return paths;
  }

  /** Asserts that every file, directory and (inside) symlink of {@code source} is in {@code target} with the same bytes and mtime. */
  public static void assertSameContent(Path source, Path target, boolean skipCache) throws IOException {
    List<MediaEntry> entries = new ArrayList<>();
    ManifestBuilder.walk(source, entries::add);
    for (MediaEntry e : entries) {
      boolean refusedLink = e.kind() == EntryKind.SYMLINK && MediaPaths.symlinkDestination(e.path(), e.linkTarget()) == null;
      if (skipCache && MediaPaths.isCache(e.path()) || refusedLink) {
        continue;
      }
      Path t = target.resolve(e.path());
      assertTrue(Files.exists(t, LinkOption.NOFOLLOW_LINKS), "missing on target: " + e.path());
      switch (e.kind()) {
        case FILE -> {
          assertArrayEquals(Files.readAllBytes(source.resolve(e.path())), Files.readAllBytes(t), e.path());
          assertEquals(e.mtimeNanos(), Files.getLastModifiedTime(t).to(TimeUnit.NANOSECONDS), "mtime of " + e.path());
        }
        case DIRECTORY -> {
          assertTrue(Files.isDirectory(t, LinkOption.NOFOLLOW_LINKS), e.path());
          assertEquals(e.mtimeNanos(), Files.getLastModifiedTime(t, LinkOption.NOFOLLOW_LINKS).to(TimeUnit.NANOSECONDS), "mtime of dir " + e.path());
        }
        case SYMLINK -> assertEquals(e.linkTarget(), Files.readSymbolicLink(t).toString(), e.path());
      }
    }
  }
}
