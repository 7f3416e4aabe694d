package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.logging.Logger;

/**
 * Directory handles for --delete, the one place where the target removes what it did not write.
 * A recursive delete by path can be sent elsewhere: if something swaps a directory for a symlink
 * between the lstat that says "directory" and the listing, a by-path delete would list and unlink
 * whatever the link points to, as root. Through {@link SecureDirectoryStream} every step is
 * relative to an open directory (openat with O_NOFOLLOW, fstatat, unlinkat), so a swap can make
 * a step fail but never leave the root.
 */
final class DirectoryHandles {
  private static final Logger logger = Logger.getLogger(DirectoryHandles.class.getName());

  private DirectoryHandles() {}

  /** Opens the directory {@code name} inside {@code parent}; null if it is not a directory (or a symlink), or gone. */
  static SecureDirectoryStream<Path> openChild(SecureDirectoryStream<Path> parent, Path name) throws IOException {
    try {
      // Looked at first, as SourceFiles does: the JDK opens without O_DIRECTORY or O_NONBLOCK, so a
      // fifo swapped in for the directory would hold this thread until something wrote to it.
      if (!parent.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .readAttributes().isDirectory()) {
        return null;
      }
      return parent.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    } catch (FileSystemException e) {
      // ELOOP (a symlink) or ENOTDIR (a file): not a directory to descend into.
      logger.fine("not descending into " + name + ": " + e.getMessage());
      return null;
    }
  }

  /** The attributes of {@code name} inside {@code parent} itself (a symlink's own); null if gone. */
  static BasicFileAttributes attributes(SecureDirectoryStream<Path> parent, Path name) throws IOException {
    try {
      return parent.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  static void closeQuietly(SecureDirectoryStream<Path> handle) {
    if (handle == null) {
      return;
    }
    try {
      handle.close();
    } catch (IOException e) {
      logger.fine("closing a directory handle: " + e.getMessage());
    }
  }
}
