package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;

/**
 * Mode and time changes that act on the entry the agent wrote, never on what a symlink put in
 * its place points to. The target's existing directories belong to the Mastodon user, so a
 * process running as that user can swap a partial file (or a directory this run created) for a
 * symlink between the agent's write and its chmod; chmod and utimes by name would then follow
 * it as root and give, say, /etc/shadow a media file's 0644. With NOFOLLOW_LINKS the JDK opens
 * the entry with O_NOFOLLOW and changes it through that descriptor (the owner already goes
 * through lchown in {@link TargetPolicy#own}); a symlink fails the chmod, and gets only its own
 * times.
 */
final class NoFollow {
  private NoFollow() {}

  static void setMode(Path path, int mode) throws IOException {
    try {
      Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setPermissions(ManifestBuilder.permissions(mode));
    } catch (FileSystemException e) {
      if (Files.isSymbolicLink(path)) {
        throw new MediaException(
            MediaException.Reason.FAILED_PRECONDITION,
            "refused to change the mode of " + path + ": it became a symlink while the sync wrote it, so something"
                + " else is writing under the media root; stop it (Mastodon, a script) and run the sync again",
            e);
      }
      throw e;
    }
  }

  /**
   * Sets the mtime (and the atime to the same instant, as {@code cp -p} does; giving both spares
   * the JDK reading the old atime). NOFOLLOW_LINKS costs one lstat: the JDK checks for a symlink
   * first and then sets only the link's own times.
   */
  static void setTimes(Path path, FileTime mtime) throws IOException {
    Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime, mtime, null);
  }
}
