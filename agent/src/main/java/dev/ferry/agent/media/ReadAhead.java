package dev.ferry.agent.media;

import dev.ferry.agent.threads.DaemonThreads;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Reads the files the target asked for a little ahead of the tar writer, on a few threads, so a
 * cold source disk serves several reads at once instead of one file after another (a real
 * {@code public/system} is mostly not in the page cache). What it reads is thrown away: the page
 * cache keeps it, and the writer then reads the same bytes from memory. It reads only, through a
 * {@link RootGuard} of its own, never follows a symlink, and a failure here costs nothing but the
 * head start: the writer reports problems as before.
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

  private final RootGuard guard;
  private volatile boolean closed;
  /** How many requests the writer has taken; a read for one it has reached is skipped. */
  private final AtomicLong writerAt = new AtomicLong();
  /** How many requests have been handed to the threads (by position, from the first). */
  private long submitted;
  private final Consumer<Path> onRead;

  public ReadAhead(Path root) throws IOException {
    this(root, path -> { });
  }

  /** @param onRead told of every file read ahead (tests) */
  ReadAhead(Path root, Consumer<Path> onRead) throws IOException {
    this.guard = new RootGuard(root);
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
    try {
      Path path = guard.existing(request.path());
      // Only regular files: opening a fifo would wait for a writer that never comes.
      if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isRegularFile()) {
        return;
      }
      try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
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
      }
      onRead.accept(path);
    } catch (IOException | RuntimeException e) {
      // Unsafe, missing or unreadable: the writer meets it in turn and says so.
    }
  }

  /** Stops handing out reads for this transfer; reads under way stop at their next buffer. */
  @Override
  public void close() {
    closed = true;
  }
}
