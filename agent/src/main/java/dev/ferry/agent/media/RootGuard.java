package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The target's side of keeping writes inside the media root: resolves wire paths under it, checked
 * lexically, and creates the directories on the way, each of which must be a real directory (not a
 * symlink) inside the root. Thread-safe: the scan and the tar reader share one. (The source opens
 * what it sends through {@link SourceFiles} instead.)
 *
 * <p>What it remembers is a cache, capped so that memory does not grow with the tree (a media
 * root can hold millions of directories): forgetting a directory only costs a check again.
 */
final class RootGuard {
  /** Directories remembered at most; past that the caches start over. */
  static final int CACHE_LIMIT = 16_384;

  private final Path root;
  /** Directories this guard verified or created, so each is checked about once per run. */
  private final java.util.Set<Path> knownDirectories = new java.util.HashSet<>();

  /** @param root the media root; if it does not exist (a dry run), nothing under it can be written */
  RootGuard(Path root) throws IOException {
    this.root = Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? MediaRoot.resolve(root) : root.toAbsolutePath().normalize();
  }

  Path root() {
    return root;
  }

  /**
   * The absolute path of {@code relative}, with its missing parent directories created one by one;
   * each directory on the way that this run has not met yet is lstat'ed, never followed, and one
   * that is a symlink or not a directory is refused.
   */
  synchronized Path withParents(String relative, DirectoryCreator creator) throws IOException {
    Path resolved = lexical(relative);
    Path parent = resolved.getParent();
    if (parent.equals(root) || knownDirectories.contains(parent)) {
      return resolved;
    }
    Path dir = root;
    for (Path part : root.relativize(parent)) {
      dir = dir.resolve(part);
      if (knownDirectories.contains(dir)) {
        continue;
      }
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        remember(dir);
        continue;
      }
      if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw MediaPaths.unsafe(relative, root.relativize(dir) + " exists and is not a directory");
      }
      creator.create(dir);
      remember(dir);
    }
    return resolved;
  }

  private void remember(Path dir) {
    if (knownDirectories.size() >= CACHE_LIMIT) {
      knownDirectories.clear();
    }
    knownDirectories.add(dir);
  }

  /**
   * Creates the directory {@code relative} (and its parents) if missing; true if it was created.
   * {@code absent} says the caller knows it cannot exist (its parent was created in this run),
   * which saves a lookup that would fail.
   */
  synchronized boolean directory(String relative, boolean absent, DirectoryCreator creator) throws IOException {
    Path dir = withParents(relative, creator);
    if (!absent) {
      if (knownDirectories.contains(dir)) {
        return false;
      }
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        remember(dir);
        return false;
      }
    }
    creator.create(dir);
    remember(dir);
    return true;
  }

  /** Where {@code relative} is, checked lexically only: for looking, not for writing. */
  Path lexical(String relative) throws MediaException {
    Path resolved = root.resolve(MediaPaths.check(relative)).normalize();
    if (!resolved.startsWith(root) || resolved.equals(root)) {
      throw MediaPaths.unsafe(relative, "outside the media root");
    }
    return resolved;
  }

  /** Creates one directory (with the target's owner and mode). */
  @FunctionalInterface
  interface DirectoryCreator {
    void create(Path dir) throws IOException;
  }
}
