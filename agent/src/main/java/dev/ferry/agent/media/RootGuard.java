package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Resolves wire paths under one media root and guarantees the result lies inside it: the path is
 * checked lexically, and every directory on the way must be a real directory (not a symlink)
 * inside the root. Remembers the last directory it verified, because requests come sorted and
 * most share their parent with the previous one. Thread-safe: the scan and the reader share one.
 *
 * <p>What it remembers is a cache, capped so that memory does not grow with the tree (a media
 * root can hold millions of directories): forgetting a directory only costs a check again.
 */
final class RootGuard {
  /** Directories remembered at most; past that the caches start over. */
  static final int CACHE_LIMIT = 16_384;

  private final Path root;
  private Path lastVerified;
  /** Directories this guard verified or created, so each is checked about once per run. */
  private final java.util.Set<Path> knownDirectories = new java.util.HashSet<>();

  /** @param root the media root; if it does not exist (a dry run), nothing under it can be written */
  RootGuard(Path root) throws IOException {
    this.root = Files.exists(root) ? root.toRealPath() : root.toAbsolutePath().normalize();
  }

  Path root() {
    return root;
  }

  /**
   * The absolute path of {@code relative}; its parent directories exist and are inside the root.
   *
   * <p>Each directory on the way is lstat'ed, never followed: one that is a symlink (or not a
   * directory) is refused. Only the directories the last verified one does not share are looked
   * at, since requests come sorted: usually the last one or two of a deep id_partition path. A
   * {@code realpath} of the whole parent instead costs a readlink per component, each walking the
   * path from the top again, and was a tenth of the source agent's CPU in a first copy.
   */
  synchronized Path existing(String relative) throws IOException {
    Path resolved = lexical(relative);
    Path parent = resolved.getParent();
    if (!parent.equals(root) && !parent.equals(lastVerified)) {
      Path dir = sharedWithLastVerified(parent);
      for (Path part : dir.relativize(parent)) {
        dir = dir.resolve(part);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          lastVerified = null;
          throw MediaPaths.unsafe(relative, "a parent is not a directory inside the media root (symlinks are not followed)");
        }
      }
      lastVerified = parent;
    }
    return resolved;
  }

  /** The deepest directory that both {@code parent} and the last verified directory lie in (at least the root). */
  private Path sharedWithLastVerified(Path parent) {
    Path shared = lastVerified == null ? root : lastVerified;
    while (!shared.equals(root) && !parent.startsWith(shared)) {
      shared = shared.getParent();
    }
    return shared;
  }

  /** Like {@link #existing}, creating missing parent directories one by one without following links. */
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
