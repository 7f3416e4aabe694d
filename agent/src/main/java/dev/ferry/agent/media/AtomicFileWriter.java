package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * Writes one received file so that its real name only ever shows the complete, verified content:
 * the bytes go to a hidden partial file in the same directory, and only when the whole file's
 * SHA-256 matches the source's does it get its mode, owner and mtime and is renamed into place. A
 * cut stream leaves the partial file for the next run to resume; a hash mismatch removes it.
 */
final class AtomicFileWriter {
  static final int BUFFER = 256 * 1024;

  private final TargetPolicy policy;
  private final byte[] buffer = new byte[BUFFER];
  private final ByteBuffer wrapped = ByteBuffer.wrap(buffer);

  AtomicFileWriter(TargetPolicy policy) {
    this.policy = policy;
  }

  /** A file being received. */
  final class Pending {
    private final Path target;
    private final Path partial;
    private final MediaEntry entry;
    private final MessageDigest digest;
    private long written;

    private Pending(Path target, Path partial, MediaEntry entry, MessageDigest digest, long written) {
      this.target = target;
      this.partial = partial;
      this.entry = entry;
      this.digest = digest;
      this.written = written;
    }

    /** Bytes of the file on disk so far (prefix kept from a partial copy plus what arrived). */
    long written() {
      return written;
    }

    /**
     * Checks the hash and renames the file into place.
     *
     * @throws MediaException DATA_LOSS if the hash differs (the partial file is removed)
     */
    void commit(String expectedSha256) throws IOException {
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equalsIgnoreCase(expectedSha256)) {
        Files.deleteIfExists(partial);
        throw new MediaException(
            MediaException.Reason.DATA_LOSS,
            "hash mismatch for " + MediaPaths.printable(entry.path()) + ": the source sent sha256 " + expectedSha256
                + " but the received bytes hash to " + actual + "; the file was not written, run the sync again");
      }
      try {
        NoFollow.setMode(partial, policy.fileMode(entry.mode()));
        policy.own(partial);
        NoFollow.setTimes(partial, FileTime.from(entry.mtimeNanos(), TimeUnit.NANOSECONDS));
        if (written >= policy.fsyncAtLeast()) {
          try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            channel.force(true);
          }
        }
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw MediaException.onWrite(e, entry.path(), target);
      }
    }

    /** Drops the partial file (the source reported that the file changed while it was read). */
    void discard() throws IOException {
      Files.deleteIfExists(partial);
    }
  }

  /**
   * Receives {@code length} bytes of {@code entry} from {@code data}, starting at {@code offset}
   * in the file. A non-zero offset continues the partial copy, whose first {@code offset} bytes
   * are hashed again so the final check covers the whole file.
   */
  Pending receive(Path target, MediaEntry entry, long offset, InputStream data, long length) throws IOException {
    Path partial = PartialFiles.partialFor(target, entry);
    MessageDigest digest = sha256();
    // A copy from the start opens with O_TRUNC and writes from position 0: no truncate and no
    // seek, two system calls fewer for each of the many small files of a first copy.
    try (FileChannel channel = offset == 0
        ? FileChannel.open(
            partial,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING,
            LinkOption.NOFOLLOW_LINKS)
        : FileChannel.open(
            partial,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.READ,
            LinkOption.NOFOLLOW_LINKS)) {
      if (offset > 0) {
        if (channel.size() < offset) {
          throw new MediaException(
              MediaException.Reason.INVALID_ARGUMENT,
              "the source resumed " + MediaPaths.printable(entry.path()) + " at byte " + offset
                  + " but only " + channel.size() + " bytes were kept");
        }
        hashPrefix(channel, offset, digest);
        channel.truncate(offset);
        channel.position(offset);
      }
      long remaining = length;
      while (remaining > 0) {
        int n = readSource(data, (int) Math.min(buffer.length, remaining), entry);
        if (n < 0) {
          throw new MediaException(
              MediaException.Reason.DATA_LOSS,
              "the stream ended in the middle of " + MediaPaths.printable(entry.path()) + " (truncated); "
                  + "the part received is kept under a hidden name and the next sync resumes it");
        }
        digest.update(buffer, 0, n);
        wrapped.clear().limit(n);
        while (wrapped.hasRemaining()) {
          channel.write(wrapped);
        }
        remaining -= n;
      }
      return new Pending(target, partial, entry, digest, offset + length);
    } catch (IOException e) {
      throw MediaException.onWrite(e, entry.path(), target);
    }
  }

  private int readSource(InputStream data, int length, MediaEntry entry) throws MediaException {
    try {
      return data.read(buffer, 0, length);
    } catch (MediaException e) {
      throw e;
    } catch (IOException e) {
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        if (c instanceof MediaException m) {
          throw m;
        }
      }
      throw new MediaException(
          MediaException.Reason.DATA_LOSS,
          "the source's stream broke in the middle of " + MediaPaths.printable(entry.path()) + " (truncated stream: " + e.getMessage()
              + "); the part received is kept under a hidden name and the next sync resumes it",
          e);
    }
  }

  private void hashPrefix(FileChannel channel, long length, MessageDigest digest) throws IOException {
    channel.position(0);
    long remaining = length;
    while (remaining > 0) {
      wrapped.clear().limit((int) Math.min(buffer.length, remaining));
      int n = channel.read(wrapped);
      if (n < 0) {
        throw new IOException("partial file shrank while it was read");
      }
      digest.update(buffer, 0, n);
      remaining -= n;
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
