package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Names of the hidden files that hold data while it arrives. A partial file lives next to its
 * final name, so the rename is atomic, and its name records the source file's size and mtime, so
 * a resume only continues a partial copy of the very same version of the file.
 */
final class PartialFiles {
  /**
   * How much of a partial file is sent again on resume. Data written just before a crash may not
   * have reached the disk; re-sending a bounded tail costs little, and the whole-file hash
   * catches anything else.
   */
  static final long RESUME_TAIL = 1024 * 1024;

  private PartialFiles() {}

  /** The hidden name under which {@code entry} is written before its rename. */
  static Path partialFor(Path target, MediaEntry entry) {
    String name = target.getFileName().toString();
    String tag = "." + entry.size() + "." + entry.mtimeNanos() + MediaPaths.PARTIAL_SUFFIX;
    if (name.length() + tag.length() + 1 > 255) {
      name = shortHash(name);
    }
    return target.resolveSibling("." + name + tag);
  }

  /**
   * Where to resume {@code entry}: after the partial copy's bytes minus {@link #RESUME_TAIL}, or 0
   * if there is no usable partial copy.
   */
  static long resumeOffset(Path target, MediaEntry entry) throws IOException {
    Path partial = partialFor(target, entry);
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(partial, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (java.nio.file.NoSuchFileException e) {
      return 0;
    }
    if (!attributes.isRegularFile() || attributes.size() > entry.size()) {
      return 0;
    }
    return Math.max(0, attributes.size() - RESUME_TAIL);
  }

  private static String shortHash(String name) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
