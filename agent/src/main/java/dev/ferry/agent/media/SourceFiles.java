package dev.ferry.agent.media;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Opens what the target asks for under the source's media root without following a symlink
 * anywhere on the way: each directory is opened relative to its parent's descriptor with
 * O_NOFOLLOW ({@link SecureDirectoryStream}, openat), and the file relative to the last one.
 * Checking a path first and opening it by name afterwards leaves a window in which anyone who can
 * write to the media root (the Mastodon user) could swap a directory on the way for a symlink to,
 * say, {@code /etc}, and the agent, running as root, would send what it found there.
 *
 * <p>Requests come sorted, so the directories of the last file stay open and only those the next
 * one does not share are opened: one openat per new directory, and as many descriptors open as
 * the tree is deep. A directory on the way that has gone (Mastodon deleted the media and its
 * empty directories during a pre-sync) makes the file missing, not the request unsafe.
 */
final class SourceFiles implements Closeable {
  private static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

  /** A regular file (open) or a symlink (its target), with its attributes. */
  record Entry(PosixFileAttributes attributes, FileChannel channel, String linkTarget) implements Closeable {
    @Override
    public void close() throws IOException {
      if (channel != null) {
        channel.close();
      }
    }
  }

  private final Path root;
  private final SecureDirectoryStream<Path> rootDirectory;
  /** The names of the directories open below the root, outermost first, and those directories. */
  private final List<String> openNames = new ArrayList<>();
  private final List<SecureDirectoryStream<Path>> openDirectories = new ArrayList<>();

  SourceFiles(Path root) throws IOException {
    this.root = MediaRoot.resolve(root);
    this.rootDirectory = MediaRoot.open(this.root);
  }

  /**
   * Opens {@code relative}.
   *
   * @return null if it (or a directory on the way) does not exist, or is neither a regular file
   *     nor a symlink
   * @throws MediaException INVALID_ARGUMENT if the path is unsafe, or a directory on the way is a
   *     symlink or not a directory
   */
  Entry open(String relative) throws IOException {
    String[] parts = MediaPaths.check(relative).split("/");
    SecureDirectoryStream<Path> directory = parent(relative, parts);
    if (directory == null) {
      return null;
    }
    Path name = name(parts[parts.length - 1]);
    PosixFileAttributes attributes;
    try {
      attributes = directory.getFileAttributeView(name, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    } catch (NoSuchFileException e) {
      return null;
    }
    if (attributes.isSymbolicLink()) {
      return new Entry(attributes, null, linkTarget(root, relative, attributes));
    }
    if (!attributes.isRegularFile()) {
      return null;
    }
    SeekableByteChannel channel;
    try {
      channel = directory.newByteChannel(name, READ);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (!(channel instanceof FileChannel file)) {
      channel.close();
      throw new IOException("opening " + MediaPaths.printable(relative) + " did not give a file channel");
    }
    return new Entry(attributes, file, null);
  }

  /**
   * Java has no readlinkat: the link is read by name, then checked to be the very link found in
   * the opened directory (the same inode), so a swapped directory on the way cannot pass off
   * another link's target.
   */
  static String linkTarget(Path root, String relative, BasicFileAttributes inDirectory) throws IOException {
    Path byName = root.resolve(relative);
    String target = Files.readSymbolicLink(byName).toString();
    Object key = Files.readAttributes(byName, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    if (!Objects.equals(key, inDirectory.fileKey())) {
      throw MediaPaths.unsafe(relative, "a directory on the way changed while the symlink was read");
    }
    return target;
  }

  /** The open directory {@code relative} is in, opening what the last one does not share; null if one is gone. */
  private SecureDirectoryStream<Path> parent(String relative, String[] parts) throws IOException {
    int depth = parts.length - 1;
    int shared = 0;
    while (shared < depth && shared < openNames.size() && openNames.get(shared).equals(parts[shared])) {
      shared++;
    }
    closeFrom(shared);
    SecureDirectoryStream<Path> directory = shared == 0 ? rootDirectory : openDirectories.get(shared - 1);
    for (int i = shared; i < depth; i++) {
      Path name = name(parts[i]);
      try {
        // Looked at first: opening a fifo (which O_NOFOLLOW alone allows) would wait for a writer.
        if (!directory.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .readAttributes().isDirectory()) {
          throw notADirectory(relative);
        }
        directory = directory.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        return null;
      } catch (AccessDeniedException e) {
        throw e;
      } catch (FileSystemException e) {
        // ELOOP (a symlink put there since) or ENOTDIR: never followed, never a way out.
        throw notADirectory(relative);
      }
      openNames.add(parts[i]);
      openDirectories.add(directory);
    }
    return directory;
  }

  private static MediaException notADirectory(String relative) {
    return MediaPaths.unsafe(relative, "a parent is not a directory inside the media root (symlinks are not followed)");
  }

  private Path name(String part) {
    return root.getFileSystem().getPath(part);
  }

  private void closeFrom(int depth) throws IOException {
    while (openDirectories.size() > depth) {
      openNames.remove(openNames.size() - 1);
      openDirectories.remove(openDirectories.size() - 1).close();
    }
  }

  @Override
  public void close() throws IOException {
    try {
      closeFrom(0);
    } finally {
      rootDirectory.close();
    }
  }
}
