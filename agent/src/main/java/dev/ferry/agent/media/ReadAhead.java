package dev.ferry.agent.media;

import dev.ferry.agent.threads.DaemonThreads;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Reads the files the target asked for a little ahead of the tar writer, on a few threads, so a
 * cold source disk serves several reads at once instead of one file after another (a real
 * {@code public/system} is mostly not in the page cache). What it reads is thrown away: the page
 * cache keeps it, and the writer then reads the same bytes from memory. It reads only, opens every
 * file through {@link SourceFiles} of its own exactly as the writer does (so a directory swapped
 * for a symlink can no more lead it outside the root than the writer), and a failure here costs
 * nothing but the head start: the writer reports problems as before.
 *
 * <p>Bounded whatever the tree and however many transfers run: one pool of {@link #THREADS}
 * threads for the whole agent, at most {@link #FILES_AHEAD} files ahead of each writer, at most
 * {@link #BYTES_PER_FILE} of each file (the kernel's own read-ahead carries a large file on from
 * there), one buffer per thread.
 */
public final class ReadAhead implements AutoCloseable {
  static final int THREADS = 3;
  public static final int FILES_AHEAD = 24;
  static final long BYTES_PER_FILE = 4L << 20;
  private static final int BUFFER = 128 * 1024;
  private static final ThreadLocal<ByteBuffer> BUFFERS = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(BUFFER));
  private static final ExecutorService THREAD_POOL = Executors.newFixedThreadPool(THREADS, new DaemonThreads("ferry-read-ahead"));

  /** Shared by the threads, one open at a time; the reads themselves run outside its lock. */
  private final SourceFiles files;
  private volatile boolean closed;
  /** How many requests the writer has taken; a read for one it has reached is skipped. */
  private final AtomicLong writerAt = new AtomicLong();
  /** How many requests have been handed to the threads (by position, from the first). */
  private long submitted;
  private final Consumer<String> onRead;

  public ReadAhead(Path root) throws IOException {
    this(root, path -> { });
  }

  /** @param onRead told the path of every file read ahead (tests) */
  ReadAhead(Path root, Consumer<String> onRead) throws IOException {
    this.files = new SourceFiles(root);
    this.onRead = onRead;
  }

  /**
   * The writer has taken {@code taken} requests so far and {@code upcoming} are queued after them,
   * in order; those within reach that were not handed out yet are read ahead.
   */
  public synchronized void advance(long taken, List<FileRequest> upcoming) {
    writerAt.set(taken);
    if (closed) {
      return;
    }
    long first = Math.max(submitted, taken);
    for (int i = (int) (first - taken); i < upcoming.size() && i < FILES_AHEAD; i++) {
      long position = taken + i;
      FileRequest request = upcoming.get(i);
      submitted = position + 1;
      THREAD_POOL.execute(() -> read(position, request));
    }
  }

  private void read(long position, FileRequest request) {
    // Reached by the writer meanwhile (or the transfer ended): reading it would only compete for the disk.
    if (closed || position < writerAt.get()) {
      return;
    }
    try (SourceFiles.Entry found = open(request.path())) {
      // Symlinks are only named in the stream; fifos and the like are never opened at all.
      if (found == null || found.channel() == null) {
        return;
      }
      FileChannel channel = found.channel();
      ByteBuffer buffer = BUFFERS.get();
      long at = Math.max(0, request.offset());
      long end = at + BYTES_PER_FILE;
      while (at < end && !closed && position >= writerAt.get() - 1) {
        buffer.clear();
        int n = channel.read(buffer, at);
        if (n < 0) {
          break;
        }
        at += n;
      }
      onRead.accept(request.path());
    } catch (IOException | RuntimeException e) {
      // Unsafe, missing or unreadable: the writer meets it in turn and says so.
    }
  }

  private SourceFiles.Entry open(String path) throws IOException {
    synchronized (files) {
      return closed ? null : files.open(path);
    }
  }

  /** Stops handing out reads for this transfer; reads under way stop at their next buffer. */
  @Override
  public void close() {
    synchronized (files) {
      closed = true;
      try {
        files.close();
      } catch (IOException e) {
        // Only directory descriptors, opened for reading: nothing is lost, and the transfer's
        // outcome must not depend on the head start.
      }
    }
  }
}
