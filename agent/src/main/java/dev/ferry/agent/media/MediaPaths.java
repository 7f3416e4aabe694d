package dev.ferry.agent.media;

import java.nio.file.Path;

/**
 * The rules that keep every read and write inside the media root. Relative paths on the wire are
 * plain '/'-separated names; anything absolute, with "." or ".." or empty components, with a
 * NUL or a backslash, is refused before it touches the file system. Resolved paths are checked
 * again against the real (symlink-free) root, so a symlinked directory cannot lead outside.
 */
public final class MediaPaths {
  /** Suffix of the hidden names under which partial files wait for a resume. */
  static final String PARTIAL_SUFFIX = ".ferry-part";

  private MediaPaths() {}

  /** Returns {@code path} if it is a safe relative path, or throws INVALID_ARGUMENT. */
  public static String check(String path) throws MediaException {
    if (path == null || path.isEmpty()) {
      throw unsafe(path, "empty path");
    }
    if (path.startsWith("/")) {
      throw unsafe(path, "absolute path");
    }
    if (path.indexOf('\0') >= 0 || path.indexOf('\\') >= 0) {
      throw unsafe(path, "NUL or backslash in path");
    }
    // Component by component without splitting: every manifest entry and every requested file
    // comes through here, and splitting took about 5% of the scan of a no-op sync (profiled).
    int start = 0;
    for (int i = 0; i <= path.length(); i++) {
      if (i == path.length() || path.charAt(i) == '/') {
        if (isDotOrEmpty(path, start, i)) {
          throw unsafe(path, "'" + path.substring(start, i) + "' component (\"..\", \".\" and empty components are not allowed)");
        }
        start = i + 1;
      }
    }
    return path;
  }

  /** True if {@code path[from, to)} is "", "." or "..". */
  private static boolean isDotOrEmpty(String path, int from, int to) {
    int length = to - from;
    return length == 0
        || (length == 1 && path.charAt(from) == '.')
        || (length == 2 && path.charAt(from) == '.' && path.charAt(from + 1) == '.');
  }

  static MediaException unsafe(String path, String why) {
    return new MediaException(
        MediaException.Reason.INVALID_ARGUMENT, "refused path '" + printable(path) + "': " + why);
  }

  /** A path for messages: control characters escaped, length capped. */
  static String printable(String path) {
    if (path == null) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    for (char c : path.toCharArray()) {
      b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
      if (b.length() > 200) {
        return b.append("...").toString();
      }
    }
    return b.toString();
  }

  /** True for the cache/ subtree, which Mastodon can fetch again. */
  public static boolean isCache(String path) {
    return path.equals("cache") || path.startsWith("cache/");
  }

  /** True for ferry's own hidden partial files, which are never part of a manifest. */
  static boolean isPartial(String name) {
    return name.startsWith(".") && name.endsWith(PARTIAL_SUFFIX);
  }

  /**
   * Where a symlink at {@code linkPath} pointing to {@code target} ends up, relative to the root,
   * or null if it leaves the root (absolute targets always do: the root differs between hosts).
   */
  static String symlinkDestination(String linkPath, String target) {
    if (target.isEmpty() || target.startsWith("/") || target.indexOf('\0') >= 0) {
      return null;
    }
    Path base = Path.of("/root-of-media");
    Path link = base.resolve(linkPath).getParent();
    Path resolved = link.resolve(target).normalize();
    if (!resolved.startsWith(base) || resolved.equals(base)) {
      return null;
    }
    return base.relativize(resolved).toString();
  }
}
