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
 */
final class RootGuard {
  private final Path root;
  private Path lastVerified;
  /** Directories this guard verified or created, so each is checked once per run. */
  private final java.util.Set<Path> knownDirectories = new java.util.HashSet<>();
  /** Directories created in this run: nothing can be in them yet. */
  private final java.util.Set<Path> createdDirectories = new java.util.HashSet<>();

  /** @param root the media root; if it does not exist (a dry run), nothing under it can be written */
  RootGuard(Path root) throws IOException {
    this.root = Files.exists(root) ? root.toRealPath() : root.toAbsolutePath().normalize();
  }

  Path root() {
    return root;
  }

  /** The absolute path of {@code relative}; its parent directories exist and are inside the root. */
  synchronized Path existing(String relative) throws IOException {
    Path resolved = lexical(relative);
    Path parent = resolved.getParent();
    if (!parent.equals(root) && !parent.equals(lastVerified)) {
      if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS) || !parent.toRealPath().equals(parent)) {
        throw MediaPaths.unsafe(relative, "a parent is not a directory inside the media root (symlinks are not followed)");
      }
      lastVerified = parent;
    }
    return resolved;
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
      if (knownDirectories.contains(dir) || Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        knownDirectories.add(dir);
        continue;
      }
      if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw MediaPaths.unsafe(relative, root.relativize(dir) + " exists and is not a directory");
      }
      creator.create(dir);
      knownDirectories.add(dir);
      createdDirectories.add(dir);
    }
    return resolved;
  }

  /** Creates the directory {@code relative} (and its parents) if missing; true if it was created. */
  synchronized boolean directory(String relative, DirectoryCreator creator) throws IOException {
    Path dir = withParents(relative, creator);
    if (knownDirectories.contains(dir) || Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      knownDirectories.add(dir);
      return false;
    }
    creator.create(dir);
    knownDirectories.add(dir);
    createdDirectories.add(dir);
    return true;
  }

  /** True if {@code relative}'s parent was created in this run, so nothing can exist under it yet. */
  synchronized boolean inNewDirectory(String relative) throws IOException {
    return inNewDirectory(lexical(relative));
  }

  /** Like {@link #inNewDirectory(String)}, for a path {@link #lexical} already resolved. */
  synchronized boolean inNewDirectory(Path resolved) {
    return createdDirectories.contains(resolved.getParent());
  }

  /** True if this guard created {@code dir} in this run. */
  synchronized boolean created(Path dir) {
    return createdDirectories.contains(dir);
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
