package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The target side of a media sync: compares the source's manifest with the local media root
 * (size and mtime, like rsync's quick check), fetches what differs as one tar stream, deletes
 * what the source no longer has if asked, then fixes directory modes and times and flushes
 * everything to disk before reporting success.
 */
public final class MediaPuller {
  private static final Logger logger = Logger.getLogger(MediaPuller.class.getName());
  private static final int MAX_REFUSALS = 200;
  private static final long PROGRESS_EVERY_MILLIS = 250;

  /** Makes everything written under a root durable (one syncfs, not one fsync per file). */
  @FunctionalInterface
  public interface Flusher {
    void flush(Path root) throws IOException;
  }

  private final Path root;
  private final TargetPolicy policy;
  private final Flusher flusher;
  private final Clock clock;

  public MediaPuller(Path root, TargetPolicy policy, Flusher flusher, Clock clock) {
    this.root = root;
    this.policy = policy;
    this.flusher = flusher;
    this.clock = clock;
  }

  /** Runs one pull. Not thread-safe; the caller allows one pull at a time per root. */
  public PullSummary pull(MediaSource source, PullOptions options, Consumer<PullProgress> progress) throws IOException {
    return new Run(source, options, progress).execute();
  }

  /** The state of one pull. */
  private final class Run implements MediaTarReader.Listener {
    private final MediaSource source;
    private final PullOptions options;
    private final Consumer<PullProgress> progress;
    private final long started = clock.millis();
    private final Map<String, MediaTarReader.Planned> planned = new ConcurrentHashMap<>();
    private final RequestFeed feed = new RequestFeed();
    private long plannedFiles;
    private volatile IOException readerFailure;
    private final List<MediaEntry> directories = new ArrayList<>();
    /** Directories that existed but were not yet right when scanned (new ones: see RootGuard). */
    private final Set<Path> unsettled = new HashSet<>();
    private final Set<String> sourcePaths = new HashSet<>();
    private final List<String> refusals = new ArrayList<>();
    private long refusalCount;
    private PullProgress.Phase phase = PullProgress.Phase.SCANNING;
    private long lastProgress;
    private long scanned;
    private long plannedBytes;
    private long skipped;
    private long skippedBytes;
    private long filesDone;
    private long bytesDone;
    private long bytesSent;
    private long resumed;
    private long resumedBytes;
    private long deleted;
    private long directoriesCreated;
    private RootGuard guard;
    private MediaTarReader reader;
    private InputStream tar;
    private Thread readerThread;

    Run(MediaSource source, PullOptions options, Consumer<PullProgress> progress) {
      this.source = source;
      this.options = options;
      this.progress = progress;
    }

    PullSummary execute() throws IOException {
      long scannedAt;
      if (options.dryRun()) {
        source.manifest(this::firstThenScan);
        begin();
        scannedAt = clock.millis();
      } else {
        scannedAt = scanWhileTransferring();
      }
      long transferredAt = clock.millis();
      if (options.delete()) {
        phase = PullProgress.Phase.DELETING;
        report(true);
        deleteExtraneous();
      }
      if (!options.dryRun()) {
        phase = PullProgress.Phase.FINISHING;
        report(true);
        finishDirectories();
        flusher.flush(guard.root());
      }
      logger.info(String.format(
          "media pull: scan %d ms (%d entries, %d to fetch), transfer %d ms (%d files, %d bytes), delete and finish %d ms",
          scannedAt - started, scanned, plannedFiles, transferredAt - scannedAt, filesDone, bytesSent,
          clock.millis() - transferredAt));
      long files = options.dryRun() ? plannedFiles : filesDone;
      return new PullSummary(
          scanned, files, skipped, deleted, options.dryRun() ? plannedBytes : bytesSent, skippedBytes, resumed,
          resumedBytes, directoriesCreated, clock.millis() - started, options.dryRun(),
          refusalCount > refusals.size()
              ? append(refusals, "... and " + (refusalCount - refusals.size()) + " more")
              : List.copyOf(refusals));
    }

    /**
     * Reads the manifest on this thread while another reads the tar stream: files are requested
     * as soon as the scan finds them missing, so comparing and copying overlap.
     *
     * @return when the scan ended
     */
    private long scanWhileTransferring() throws IOException {
      phase = PullProgress.Phase.TRANSFERRING;
      long scannedAt;
      try {
        source.manifest(this::firstThenScan);
        begin();
        feed.finish();
        scannedAt = clock.millis();
        report(true);
        join(readerThread);
      } catch (IOException | RuntimeException e) {
        // Either the scan's own failure, or the reader's that the scan passed on; the reader's
        // failure after this close is only a consequence.
        if (tar != null) {
          closeQuietly(tar);
          join(readerThread);
        }
        throw e;
      }
      closeQuietly(tar);
      if (readerFailure != null) {
        throw readerFailure;
      }
      return scannedAt;
    }

    private void firstThenScan(MediaEntry entry) throws IOException {
      begin();
      scan(entry);
    }

    /**
     * Creates the root and opens the tar stream once the source has answered with its manifest,
     * not before: a source that refuses (a ticket for another operation, say) leaves this host
     * exactly as it was, without even an empty media root.
     */
    private void begin() throws IOException {
      if (guard != null) {
        return;
      }
      prepareRoot();
      guard = new RootGuard(root);
      reader = new MediaTarReader(guard, policy, this);
      if (options.dryRun()) {
        return;
      }
      tar = source.read(feed, this::missing);
      readerThread = new Thread(() -> {
        try {
          reader.read(tar, planned);
        } catch (IOException e) {
          readerFailure = e;
        } catch (RuntimeException e) {
          readerFailure = new IOException("media reader failed: " + e, e);
        }
      }, "ferry-media-reader");
      readerThread.setDaemon(true);
      readerThread.start();
    }

    private void join(Thread thread) throws IOException {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while receiving media");
      }
    }

    private static void closeQuietly(InputStream in) {
      try {
        in.close();
      } catch (IOException e) {
        logger.fine("closing the media stream: " + e.getMessage());
      }
    }

    private void prepareRoot() throws IOException {
      if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) || options.dryRun()) {
        return;
      }
      if (Files.exists(root, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(root)) {
        throw new MediaException(MediaException.Reason.FAILED_PRECONDITION, "the media root " + root + " is not a directory");
      }
      Path parent = root.toAbsolutePath().getParent();
      if (parent == null || !Files.isDirectory(parent)) {
        throw new MediaException(
            MediaException.Reason.FAILED_PRECONDITION,
            "the media root's parent " + parent + " does not exist; is Mastodon installed on the target?");
      }
      try {
        Files.createDirectory(root);
        Files.setPosixFilePermissions(root, ManifestBuilder.permissions(policy.dirMode(0755)));
        policy.own(root);
      } catch (IOException e) {
        throw MediaException.onWrite(e, root.toString(), root);
      }
    }

    private void scan(MediaEntry entry) throws IOException {
      if (readerFailure != null) {
        throw readerFailure; // no point comparing further: the transfer already failed
      }
      String path = MediaPaths.check(entry.path());
      if (options.excludeCache() && MediaPaths.isCache(path)) {
        return;
      }
      scanned++;
      if (options.delete()) {
        sourcePaths.add(path);
      }
      Path local = guard.lexical(path);
      // Under a directory this run created there is nothing to compare: skip the lookups.
      boolean inNewDirectory = guard.inNewDirectory(local);
      if (entry.kind() == EntryKind.DIRECTORY) {
        // One lstat that also tells whether mode, owner and mtime are already right, so that the
        // finishing pass can skip directories nothing was written to (most of a re-sync).
        Map<String, Object> unix = inNewDirectory ? null : unixAttributes(local);
        directories.add(entry);
        if (unix == null) {
          directoriesCreated++;
          if (!options.dryRun()) {
            guard.directory(path, reader::createDirectory);
          }
        } else if (!(Boolean) unix.get("isDirectory")) {
          refuse(MediaPaths.printable(path) + ": a directory on the source but not on the target; left alone");
        } else if (!settled(local, entry, unix)) {
          unsettled.add(local);
        }
        report(false);
        return;
      }
      BasicFileAttributes here = inNewDirectory ? null : attributes(local);
      switch (entry.kind()) {
        case DIRECTORY -> throw new IllegalStateException("directories are handled above");
        case FILE -> {
          if (here != null && here.isRegularFile() && here.size() == entry.size()
              && here.lastModifiedTime().to(TimeUnit.SECONDS) == TimeUnit.NANOSECONDS.toSeconds(entry.mtimeNanos())) {
            skipped++;
            skippedBytes += entry.size();
          } else if (here != null && here.isDirectory()) {
            refuse(MediaPaths.printable(path) + ": a file on the source but a directory on the target; left alone");
          } else {
            long offset = options.dryRun() || inNewDirectory ? 0 : PartialFiles.resumeOffset(local, entry);
            plan(entry, offset);
          }
        }
        case SYMLINK -> {
          if (MediaPaths.symlinkDestination(path, entry.linkTarget()) == null) {
            refuse(MediaPaths.printable(path) + ": symlink to '" + MediaPaths.printable(entry.linkTarget())
                + "' points outside the media root; not copied");
          } else if (here != null && here.isSymbolicLink()
              && Files.readSymbolicLink(local).toString().equals(entry.linkTarget())) {
            skipped++;
          } else if (here != null && here.isDirectory()) {
            refuse(MediaPaths.printable(path) + ": a symlink on the source but a directory on the target; left alone");
          } else {
            plan(entry, 0);
          }
        }
      }
      report(false);
    }

    private void plan(MediaEntry entry, long offset) {
      plannedFiles++;
      plannedBytes += entry.size() - offset;
      if (!options.dryRun()) {
        planned.put(entry.path(), new MediaTarReader.Planned(entry, offset));
        feed.add(new FileRequest(entry.path(), offset));
      }
    }

    private void missing(String path) {
      if (planned.remove(path) != null) {
        refuse(MediaPaths.printable(path) + ": removed on the source since the manifest was read; not copied");
      }
    }

    private void deleteExtraneous() throws IOException {
      if (!Files.isDirectory(guard.root())) {
        return;
      }
      List<MediaEntry> extraneous = new ArrayList<>();
      ManifestBuilder.walk(guard.root(), entry -> {
        if (!(options.excludeCache() && MediaPaths.isCache(entry.path())) && !sourcePaths.contains(entry.path())) {
          extraneous.add(entry);
        }
      });
      // Children come after their directory in the walk; delete them first.
      Collections.reverse(extraneous);
      for (MediaEntry entry : extraneous) {
        Path path = guard.lexical(entry.path());
        if (!options.dryRun()) {
          try {
            Files.delete(path);
          } catch (java.nio.file.DirectoryNotEmptyException e) {
            refuse(MediaPaths.printable(entry.path()) + ": not deleted, still holds partial files");
            continue;
          } catch (NoSuchFileException e) {
            continue;
          }
        }
        if (!options.dryRun()) {
          reader.touched(path);
        }
        deleted++;
        report(false);
      }
    }

    /** True if the directory at {@code path} already has the mode, owner and mtime it should end with. */
    private boolean settled(Path path, MediaEntry entry, Map<String, Object> unix) throws IOException {
      return ((Integer) unix.get("mode") & 07777) == policy.dirMode(entry.mode())
          && policy.owns(path, unix)
          && unix.get("lastModifiedTime").equals(FileTime.from(entry.mtimeNanos(), TimeUnit.NANOSECONDS));
    }

    private void finishDirectories() throws IOException {
      // Deepest first: writing into a directory changes its mtime.
      for (int i = directories.size() - 1; i >= 0; i--) {
        MediaEntry entry = directories.get(i);
        Path path = guard.lexical(entry.path());
        if (!unsettled.contains(path) && !guard.created(path) && !reader.wasTouched(path)) {
          continue; // was right when scanned and nothing in it changed since
        }
        Map<String, Object> now = unixAttributes(path);
        if (now == null || !(Boolean) now.get("isDirectory")) {
          continue;
        }
        // Change only what differs: a no-op sync should not rewrite metadata of every directory.
        int mode = policy.dirMode(entry.mode());
        if (((Integer) now.get("mode") & 07777) != mode) {
          Files.setPosixFilePermissions(path, ManifestBuilder.permissions(mode));
        }
        if (!policy.owns(path, now)) {
          policy.own(path);
        }
        FileTime mtime = FileTime.from(entry.mtimeNanos(), TimeUnit.NANOSECONDS);
        if (!now.get("lastModifiedTime").equals(mtime)) {
          AtomicFileWriter.setTimes(path, mtime);
        }
      }
    }

    @Override
    public synchronized void received(MediaEntry entry, long offset, long bytesOverWire) {
      filesDone++;
      bytesSent += bytesOverWire;
      if (offset > 0) {
        resumed++;
        resumedBytes += offset;
      }
      report(false);
    }

    @Override
    public synchronized void bytes(long n) {
      bytesDone += n;
      report(false);
    }

    @Override
    public void refused(String line) {
      refuse(line);
    }

    private synchronized void refuse(String line) {
      refusalCount++;
      logger.warning("media: " + line);
      if (refusals.size() < MAX_REFUSALS) {
        refusals.add(line);
      }
    }

    private synchronized void report(boolean force) {
      long now = clock.millis();
      if (!force && now - lastProgress < PROGRESS_EVERY_MILLIS) {
        return;
      }
      lastProgress = now;
      progress.accept(new PullProgress(
          phase, scanned, plannedFiles, plannedBytes, filesDone, Math.min(bytesDone, plannedBytes), now - started));
    }

    private static List<String> append(List<String> list, String line) {
      List<String> copy = new ArrayList<>(list);
      copy.add(line);
      return List.copyOf(copy);
    }

    private Map<String, Object> unixAttributes(Path path) throws IOException {
      try {
        return Files.readAttributes(path, "unix:mode,uid,gid,lastModifiedTime,isDirectory", LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        return null;
      } catch (java.nio.file.FileSystemException e) {
        // A parent that is a file, for example: treat as absent; creating it will refuse it clearly.
        return null;
      }
    }

    private BasicFileAttributes attributes(Path path) throws IOException {
      try {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        return null;
      } catch (java.nio.file.FileSystemException e) {
        // A parent that is a file, for example: treat as absent; writing will refuse it clearly.
        return null;
      }
    }
  }
}
