package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The target side of ReadFiles: reads the source's tar and writes only what was asked for, only
 * inside the root. Every entry is checked before anything is written: its name (no "..", no
 * absolute path), its type (files and symlinks; hardlinks never), that it was requested and not
 * already received, that a symlink stays inside the root, and that its size fits. Any bad entry
 * stops the stream with INVALID_ARGUMENT; a truncated stream or wrong hash with DATA_LOSS.
 */
final class MediaTarReader {
  /** What the reader reports as files complete. */
  interface Listener {
    void received(MediaEntry entry, long offset, long bytesOverWire);

    void bytes(long n);

    void refused(String line);
  }

  /**
   * A requested path: the manifest entry, where its data may start, and the request's number in
   * the order the scan made them.
   */
  record Planned(MediaEntry entry, long offset, long sequence) {
    Planned(MediaEntry entry, long offset) {
      this(entry, offset, 0);
    }
  }

  private static final java.nio.file.attribute.FileAttribute<?> PRIVATE_DIRECTORY =
      java.nio.file.attribute.PosixFilePermissions.asFileAttribute(ManifestBuilder.permissions(0700));

  private final RootGuard guard;
  private final TargetPolicy policy;
  private final AtomicFileWriter writer;
  private final Listener listener;
  /** Directories whose entries this run changed (so their mtime must be set again at the end). */
  private final java.util.Set<Path> touched = java.util.concurrent.ConcurrentHashMap.newKeySet();

  MediaTarReader(RootGuard guard, TargetPolicy policy, Listener listener) {
    this.guard = guard;
    this.policy = policy;
    this.writer = new AtomicFileWriter(policy);
    this.listener = listener;
  }

  /**
   * Reads the whole stream. {@code expected} holds the outstanding requests; each is removed as
   * it arrives (or when the source reports it missing, by the caller). When the tar ends, nothing
   * may be outstanding.
   */
  void read(InputStream in, Map<String, Planned> expected) throws IOException {
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new CountingInput(in, listener), "UTF-8")) {
      TarArchiveEntry entry;
      while ((entry = nextEntry(tar)) != null) {
        String name = entry.getName();
        MediaPaths.check(name);
        if (entry.isLink()) {
          throw refused(name, "hardlink to '" + MediaPaths.printable(entry.getLinkName()) + "'"
              + (MediaPaths.symlinkDestination(name, entry.getLinkName()) == null ? " escapes the media root" : " (hardlinks are not part of the protocol)"));
        }
        if (TarFormat.KIND_DIGEST.equals(entry.getExtraPaxHeader(TarFormat.KIND))) {
          throw refused(name, "digest entry without a file before it");
        }
        Planned planned = expected.get(name);
        if (entry.isSymbolicLink()) {
          if (MediaPaths.symlinkDestination(name, entry.getLinkName()) == null) {
            throw refused(name, "symlink to '" + MediaPaths.printable(entry.getLinkName()) + "' escapes the media root");
          }
          requireRequested(name, planned, EntryKind.SYMLINK);
          writeSymlink(planned.entry(), entry.getLinkName());
          expected.remove(name);
          listener.received(planned.entry(), 0, 0);
        } else if (entry.isFile()) {
          requireRequested(name, planned, EntryKind.FILE);
          receiveFile(tar, entry, planned);
          expected.remove(name);
        } else {
          throw refused(name, "unsupported entry type '" + (char) entry.getLinkFlag() + "'");
        }
      }
    }
    if (!expected.isEmpty()) {
      throw new MediaException(
          MediaException.Reason.DATA_LOSS,
          "the source's stream ended before " + expected.size() + " requested file(s) arrived (truncated stream), first: "
              + MediaPaths.printable(expected.keySet().iterator().next()) + "; run the sync again");
    }
  }

  private void receiveFile(TarArchiveInputStream tar, TarArchiveEntry entry, Planned planned) throws IOException {
    String name = entry.getName();
    long offset = parseOffset(name, entry.getExtraPaxHeader(TarFormat.OFFSET));
    if (offset > planned.offset()) {
      throw refused(name, "starts at byte " + offset + " but was requested from byte " + planned.offset());
    }
    if (entry.getSize() < 0) {
      throw refused(name, "negative size");
    }
    Path target = guard.withParents(name, this::createDirectory);
    touched(target);
    MediaEntry metadata = planned.entry();
    AtomicFileWriter.Pending pending = writer.receive(target, metadata, offset, tar, entry.getSize());
    TarArchiveEntry digest = nextEntry(tar);
    if (digest == null) {
      throw new MediaException(MediaException.Reason.DATA_LOSS,
          "the source's stream ended before the hash of " + MediaPaths.printable(name) + " (truncated stream); run the sync again");
    }
    if (!name.equals(digest.getName()) || !TarFormat.KIND_DIGEST.equals(digest.getExtraPaxHeader(TarFormat.KIND))) {
      throw refused(digest.getName(), "expected the digest entry of " + MediaPaths.printable(name));
    }
    if ("true".equals(digest.getExtraPaxHeader(TarFormat.CHANGED))) {
      pending.discard();
      listener.refused(MediaPaths.printable(name) + ": changed on the source while it was read; the next sync copies it");
      return;
    }
    String sha = digest.getExtraPaxHeader(TarFormat.SHA256);
    if (sha == null || !sha.matches("[0-9a-fA-F]{64}")) {
      throw refused(name, "digest entry without a SHA-256");
    }
    pending.commit(sha);
    listener.received(metadata, offset, entry.getSize());
  }

  private void writeSymlink(MediaEntry entry, String linkTarget) throws IOException {
    Path target = guard.withParents(entry.path(), this::createDirectory);
    touched(target);
    Path temporary = PartialFiles.partialFor(target, entry);
    try {
      Files.deleteIfExists(temporary);
      Files.createSymbolicLink(temporary, Path.of(linkTarget));
      policy.own(temporary);
      FileTime mtime = FileTime.from(entry.mtimeNanos(), TimeUnit.NANOSECONDS);
      NoFollow.setTimes(temporary, mtime);
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      Files.deleteIfExists(temporary);
      throw MediaException.onWrite(e, entry.path(), target);
    }
  }

  /**
   * Creates a directory, private to the agent until {@link MediaPuller} gives it its final mode,
   * owner and mtime at the end of the run (one pass, after its contents are written).
   */
  void createDirectory(Path dir) throws IOException {
    touched(dir);
    try {
      Files.createDirectory(dir, PRIVATE_DIRECTORY);
    } catch (IOException e) {
      throw MediaException.onWrite(e, guard.root().relativize(dir).toString(), dir);
    }
  }

  /** Records that the directory holding {@code path} changes in this run. */
  void touched(Path path) {
    Path parent = path.getParent();
    if (parent != null) {
      touched.add(parent);
    }
  }

  /**
   * True if this run created, renamed or removed anything directly in {@code dir}; forgets it, so
   * that only directories still being filled are remembered.
   */
  boolean takeTouched(Path dir) {
    return touched.remove(dir);
  }

  private static void requireRequested(String name, Planned planned, EntryKind kind) throws MediaException {
    if (planned == null) {
      throw refused(name, "was not requested (or was sent twice)");
    }
    if (planned.entry().kind() != kind) {
      throw refused(name, "is a " + kind.name().toLowerCase() + " in the stream but a "
          + planned.entry().kind().name().toLowerCase() + " in the manifest");
    }
  }

  private static long parseOffset(String name, String value) throws MediaException {
    if (value == null) {
      return 0;
    }
    try {
      long offset = Long.parseLong(value);
      if (offset < 0) {
        throw new NumberFormatException();
      }
      return offset;
    } catch (NumberFormatException e) {
      throw refused(name, "bad offset '" + MediaPaths.printable(value) + "'");
    }
  }

  private static TarArchiveEntry nextEntry(TarArchiveInputStream tar) throws IOException {
    try {
      return tar.getNextEntry();
    } catch (MediaException e) {
      throw e;
    } catch (IOException e) {
      MediaException cause = causeOf(e);
      if (cause != null) {
        throw cause;
      }
      throw new MediaException(MediaException.Reason.DATA_LOSS,
          "the source's tar stream is corrupt or truncated: " + e.getMessage() + "; run the sync again", e);
    } catch (IllegalArgumentException e) {
      throw new MediaException(MediaException.Reason.INVALID_ARGUMENT, "the source's tar stream is corrupt: " + e.getMessage(), e);
    }
  }

  private static MediaException causeOf(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof MediaException m) {
        return m;
      }
    }
    return null;
  }

  private static MediaException refused(String name, String why) {
    return new MediaException(
        MediaException.Reason.INVALID_ARGUMENT,
        "refused the source's entry '" + MediaPaths.printable(name) + "': " + why + "; nothing was written for it");
  }

  /** Counts the bytes that arrive, for progress. */
  private static final class CountingInput extends java.io.FilterInputStream {
    private final Listener listener;

    CountingInput(InputStream in, Listener listener) {
      super(in);
      this.listener = listener;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        listener.bytes(1);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        listener.bytes(n);
      }
      return n;
    }
  }
}
