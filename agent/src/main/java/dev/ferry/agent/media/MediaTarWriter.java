package dev.ferry.agent.media;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * The source side of ReadFiles: writes requested files of the media root as a POSIX tar, each
 * file followed by a digest entry with its SHA-256. Reads through one fixed buffer, so memory
 * does not depend on file sizes. Every file is opened through {@link SourceFiles}, which never
 * follows a symlink on the way, so nothing outside the root is ever read.
 */
public final class MediaTarWriter implements Closeable {
  private final SourceFiles files;
  private final TarArchiveOutputStream tar;
  private final byte[] buffer = new byte[AtomicFileWriter.BUFFER];
  private final ByteBuffer wrapped = ByteBuffer.wrap(buffer);
  private long fileBytes;

  public MediaTarWriter(Path root, OutputStream out) throws IOException {
    if (!Files.isDirectory(root)) {
      throw new MediaException(MediaException.Reason.FAILED_PRECONDITION, "the media root " + root + " does not exist");
    }
    this.files = new SourceFiles(root);
    // One record per block: every record reaches {@code out} as soon as it is written, so a flush
    // (when the target has asked for nothing more yet) delivers all of the last file, its digest
    // included, instead of leaving it in a half-filled 10 KiB block until more requests come.
    this.tar = new TarArchiveOutputStream(out, TarFormat.RECORD, "UTF-8");
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    tar.setAddPaxHeadersForNonAsciiNames(true);
  }

  /** File bytes written so far (not counting tar headers and padding). */
  public long fileBytes() {
    return fileBytes;
  }

  /**
   * Writes one requested file or symlink.
   *
   * @return false if the path no longer exists, or is not a file or symlink (the caller reports it)
   * @throws MediaException INVALID_ARGUMENT for a path outside the media root
   */
  public boolean write(FileRequest request) throws IOException {
    if (request.offset() < 0) {
      throw MediaPaths.unsafe(request.path(), "negative offset " + request.offset());
    }
    try (SourceFiles.Entry found = files.open(request.path())) {
      if (found == null) {
        return false;
      }
      PosixFileAttributes attributes = found.attributes();
      if (found.linkTarget() != null) {
        TarArchiveEntry entry = new TarArchiveEntry(request.path(), TarConstants.LF_SYMLINK);
        entry.setLinkName(found.linkTarget());
        entry.setModTime(wholeSeconds(attributes.lastModifiedTime()));
        tar.putArchiveEntry(entry);
        tar.closeArchiveEntry();
        return true;
      }
      FileChannel channel = found.channel();
      long size = channel.size();
      long offset = request.offset() > 0 && request.offset() <= size ? request.offset() : 0;
      MessageDigest digest = AtomicFileWriter.sha256();
      boolean changed = !copy(channel, 0, offset, digest, null);
      TarArchiveEntry entry = new TarArchiveEntry(request.path());
      entry.setSize(size - offset);
      entry.setMode(ManifestBuilder.mode(attributes.permissions()));
      FileTime mtime = wholeSeconds(attributes.lastModifiedTime());
      entry.setModTime(mtime);
      if (offset > 0) {
        entry.addPaxHeader(TarFormat.OFFSET, Long.toString(offset));
      }
      tar.putArchiveEntry(entry);
      // A file that shrinks while it is read is padded to its announced size and marked changed.
      changed |= !copy(channel, offset, size - offset, digest, tar);
      tar.closeArchiveEntry();
      TarArchiveEntry digestEntry = new TarArchiveEntry(request.path());
      digestEntry.setSize(0);
      digestEntry.setModTime(mtime);
      digestEntry.addPaxHeader(TarFormat.KIND, TarFormat.KIND_DIGEST);
      digestEntry.addPaxHeader(TarFormat.SHA256, HexFormat.of().formatHex(digest.digest()));
      if (changed || channel.size() != size) {
        digestEntry.addPaxHeader(TarFormat.CHANGED, "true");
      }
      tar.putArchiveEntry(digestEntry);
      tar.closeArchiveEntry();
      return true;
    }
  }

  /**
   * The target takes every mtime from the manifest, to the nanosecond; the tar header's is only
   * for people reading the stream. Whole seconds fit the ustar header, where a fraction would
   * cost each entry an extra PAX header to write and to parse.
   */
  private static FileTime wholeSeconds(FileTime time) {
    return FileTime.from(time.to(java.util.concurrent.TimeUnit.SECONDS), java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Reads {@code length} bytes at {@code position} into the digest (and out); false if the file was shorter. */
  private boolean copy(FileChannel channel, long position, long length, MessageDigest digest, OutputStream out)
      throws IOException {
    long remaining = length;
    long at = position;
    while (remaining > 0) {
      wrapped.clear().limit((int) Math.min(buffer.length, remaining));
      int n = channel.read(wrapped, at);
      if (n < 0) {
        if (out != null) {
          Arrays.fill(buffer, (byte) 0);
          while (remaining > 0) {
            int pad = (int) Math.min(buffer.length, remaining);
            out.write(buffer, 0, pad);
            remaining -= pad;
          }
        }
        return false;
      }
      digest.update(buffer, 0, n);
      if (out != null) {
        out.write(buffer, 0, n);
        fileBytes += n;
      }
      at += n;
      remaining -= n;
    }
    return true;
  }

  /** Passes everything written so far on, e.g. when there is no request to serve next. */
  public void flush() throws IOException {
    tar.flush();
  }

  /** Ends the tar (EOF records) and flushes; does not close the underlying stream's consumer. */
  public void finish() throws IOException {
    tar.finish();
    tar.flush();
  }

  @Override
  public void close() throws IOException {
    try {
      tar.close();
    } finally {
      files.close();
    }
  }
}
