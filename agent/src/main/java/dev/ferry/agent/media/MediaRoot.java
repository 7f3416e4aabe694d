package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;

/**
 * Finds and opens the configured media root without letting the Mastodon user choose it. The
 * directories above the root are often that user's (/home/mastodon/live, /var/lib/mastodon), and
 * the agent runs as root: a symlink put there (public/system to /) would have the source send
 * the whole file system, or the target write and --delete anywhere. So a symlink on the
 * configured path is followed only if root owns it (an admin's link to a bigger disk), and the
 * resolved root is then opened from / one directory at a time with O_NOFOLLOW, so that nothing
 * swapped in after the check is followed either.
 */
final class MediaRoot {
  private MediaRoot() {}

  /**
   * The real path of {@code configured}.
   *
   * @throws MediaException FAILED_PRECONDITION if a symlink on the way belongs to anyone but root
   */
  static Path resolve(Path configured) throws IOException {
    Path absolute = configured.toAbsolutePath().normalize();
    Path prefix = absolute.getRoot();
    for (Path name : absolute) {
      prefix = prefix.resolve(name);
      if (Files.isSymbolicLink(prefix)) {
        int owner = (Integer) Files.getAttribute(prefix, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (owner != 0) {
          throw new MediaException(MediaException.Reason.FAILED_PRECONDITION,
              "the media root " + configured + " goes through " + prefix + ", a symlink (to " + Files.readSymbolicLink(prefix)
                  + ") that uid " + owner + " owns: whoever owns it could point ferry, which runs as root, at any directory."
                  + " Set media.root in the agent config to the real directory, or make root own the link (chown -h root)");
        }
      }
    }
    return absolute.toRealPath();
  }

  /**
   * Opens {@code real} (a path from {@link #resolve}) from / down, refusing a symlink at any step.
   *
   * @throws MediaException FAILED_PRECONDITION if a directory on the way is (now) a symlink or not a directory
   */
  static SecureDirectoryStream<Path> open(Path real) throws IOException {
    DirectoryStream<Path> top = Files.newDirectoryStream(real.getRoot());
    if (!(top instanceof SecureDirectoryStream<Path> directory)) {
      top.close();
      throw new MediaException(MediaException.Reason.FAILED_PRECONDITION,
          "this platform cannot open files relative to a directory (openat), so media cannot be handled safely");
    }
    for (Path name : real) {
      SecureDirectoryStream<Path> child;
      try {
        // Looked at first (see SourceFiles): opening a fifo put there would wait for a writer.
        if (!directory.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .readAttributes().isDirectory()) {
          throw new java.nio.file.NotDirectoryException(real.toString());
        }
        child = directory.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        directory.close();
        throw e;
      } catch (FileSystemException e) {
        directory.close();
        throw new MediaException(MediaException.Reason.FAILED_PRECONDITION,
            "the media root " + real + " changed while it was opened (" + name + " is a symlink or not a directory"
                + " now); run the sync again, and check what is changing it", e);
      } catch (IOException e) {
        directory.close(); // an I/O error: no handle is left open behind it
        throw e;
      }
      directory.close();
      directory = child;
    }
    return directory;
  }
}
