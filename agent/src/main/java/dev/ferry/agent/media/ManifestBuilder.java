package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Lists a media root depth first, sorted by name within each directory, without following
 * symlinks anywhere (each directory is entered relative to its parent's descriptor, as {@link
 * SourceFiles} opens files). Sockets, devices and fifos are skipped, and so are ferry's own
 * partial files. Memory is bounded by the largest directory and the depth, not by the size of the
 * tree.
 */
public final class ManifestBuilder {
  private static final Logger logger = Logger.getLogger(ManifestBuilder.class.getName());

  /** Receives the entries as they are found. */
  @FunctionalInterface
  public interface Sink {
    void accept(MediaEntry entry) throws IOException;
  }

  /**
   * Walks {@code root}; the root itself is not listed.
   *
   * @throws MediaException FAILED_PRECONDITION if the root is not a directory
   */
  public static void walk(Path root, Sink sink) throws IOException {
    if (!Files.isDirectory(root)) {
      throw new MediaException(MediaException.Reason.FAILED_PRECONDITION, "the media root " + root + " does not exist");
    }
    Path realRoot = MediaRoot.resolve(root);
    try (WalkAhead ahead = new WalkAhead(realRoot, path -> false);
        SecureDirectoryStream<Path> top = MediaRoot.open(realRoot)) {
      new ManifestBuilder(realRoot, sink, ahead).walkDirectory(top, "");
    }
  }

  private final Path root;
  private final Sink sink;
  private final WalkAhead ahead;

  private ManifestBuilder(Path root, Sink sink, WalkAhead ahead) {
    this.root = root;
    this.sink = sink;
    this.ahead = ahead;
  }

  /**
   * Lists one directory, held open: its children are looked at (fstatat) and entered (openat,
   * O_NOFOLLOW) relative to it, never by a path, so a directory swapped for a symlink while the
   * walk is under way cannot carry it outside the root.
   */
  private void walkDirectory(SecureDirectoryStream<Path> dir, String prefix) throws IOException {
    long started = System.nanoTime();
    List<String> names = new ArrayList<>();
    for (Path child : dir) {
      names.add(child.getFileName().toString());
    }
    ahead.visited(prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1), System.nanoTime() - started);
    Collections.sort(names);
    for (String name : names) {
      if (MediaPaths.isPartial(name)) {
        continue;
      }
      String relative = prefix + name;
      Path child = root.getFileSystem().getPath(name);
      PosixFileAttributes attributes;
      try {
        attributes = dir.getFileAttributeView(child, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
      } catch (NoSuchFileException e) {
        continue; // removed while we walked: Mastodon is still serving during the pre-sync
      }
      long mtime = attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS);
      int mode = mode(attributes.permissions());
      if (attributes.isDirectory()) {
        SecureDirectoryStream<Path> opened;
        try {
          opened = dir.newDirectoryStream(child, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
          continue;
        } catch (AccessDeniedException e) {
          throw e;
        } catch (FileSystemException e) {
          // ELOOP or ENOTDIR: swapped since it was looked at. Never followed; left out, as a
          // symlink or file put there now would be on the next sync.
          logger.info("skipping " + MediaPaths.printable(relative) + ": it stopped being a directory while the walk was under way");
          continue;
        }
        try (opened) {
          sink.accept(new MediaEntry(relative, EntryKind.DIRECTORY, 0, mtime, mode, ""));
          walkDirectory(opened, relative + "/");
        }
      } else if (attributes.isRegularFile()) {
        sink.accept(new MediaEntry(relative, EntryKind.FILE, attributes.size(), mtime, mode, ""));
      } else if (attributes.isSymbolicLink()) {
        String target;
        try {
          target = SourceFiles.linkTarget(root, relative, attributes);
        } catch (NoSuchFileException e) {
          continue;
        } catch (MediaException | FileSystemException e) {
          // Read by name, a directory on the way had been swapped: no target is trusted then.
          logger.info("skipping " + MediaPaths.printable(relative) + ": a directory on the way changed while its target was read");
          continue;
        }
        sink.accept(new MediaEntry(relative, EntryKind.SYMLINK, 0, mtime, 0777, target));
      } else {
        logger.info("skipping " + MediaPaths.printable(relative) + ": not a file, directory or symlink");
      }
    }
  }

  /** Permission bits of a POSIX permission set, e.g. 0644. */
  public static int mode(Set<PosixFilePermission> permissions) {
    int mode = 0;
    for (PosixFilePermission p : permissions) {
      mode |= 1 << (8 - p.ordinal());
    }
    return mode;
  }

  /** The permission set of mode bits, e.g. 0640. */
  public static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> set = java.util.EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission p : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - p.ordinal()))) != 0) {
        set.add(p);
      }
    }
    return set;
  }
}
