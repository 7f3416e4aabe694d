package dev.ferry.agent.status;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Counts the regular files under a media root and their bytes, without following symlinks. */
public final class MediaCounter {
  private MediaCounter() {}

  /** A file count and byte total. */
  public record Totals(long files, long bytes) {}

  public static Totals count(Path root) throws IOException {
    long[] totals = new long[2];
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            if (attrs.isRegularFile()) {
              totals[0]++;
              totals[1] += attrs.size();
            }
            return FileVisitResult.CONTINUE;
          }
        });
    return new Totals(totals[0], totals[1]);
  }
}
