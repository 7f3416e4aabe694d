package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The target side of a media sync: compares the source's manifest with the local media root
 * (size and mtime, like rsync's quick check), fetches what differs as one tar stream, deletes
 * what the source no longer has if asked, gives each directory its mode, owner and times once
 * everything in it has arrived, and flushes everything to disk before reporting success.
 *
 * <p>It works as the manifest streams by, relying on its depth-first, sorted order: what it keeps
 * is bounded by the depth of the tree, the size of one directory and {@link #MAX_OUTSTANDING},
 * never by the number of entries, so a media root of millions of files fits the agent's heap.
 */
public final class MediaPuller {
  private static final Logger logger = Logger.getLogger(MediaPuller.class.getName());
  private static final int MAX_REFUSALS = 200;
  private static final long PROGRESS_EVERY_MILLIS = 250;
  /**
   * Files requested and not yet arrived, at most. Enough to keep the stream full, small enough
   * that the target's memory does not depend on how many files the tree holds.
   */
  static final int MAX_OUTSTANDING = 4096;

  /** Makes everything written under a root durable (one syncfs, not one fsync per file). */
  @FunctionalInterface
  public interface Flusher {
    void flush(Path root) throws IOException;
  }

  private final Path root;
  private final TargetPolicy policy;
  private final Flusher flusher;
  private final Clock clock;
  private final int maxOutstanding;

  public MediaPuller(Path root, TargetPolicy policy, Flusher flusher, Clock clock) {
    this(root, policy, flusher, clock, MAX_OUTSTANDING);
  }

  /** With another limit of outstanding requests: tests use a tiny one to exercise the waiting. */
  MediaPuller(Path root, TargetPolicy policy, Flusher flusher, Clock clock, int maxOutstanding) {
    this.root = root;
    this.policy = policy;
    this.flusher = flusher;
    this.clock = clock;
    this.maxOutstanding = maxOutstanding;
  }

  /** Runs one pull. Not thread-safe; the caller allows one pull at a time per root. */
  public PullSummary pull(MediaSource source, PullOptions options, Consumer<PullProgress> progress) throws IOException {
    return new Run(source, options, progress).execute();
  }

  /** A directory of the manifest that the scan is inside of, or has left but may not finish yet. */
  private static final class OpenDirectory {
    final MediaEntry entry;
    final Path path;
    /** Created by this run: nothing was in it before. */
    final boolean created;
    /** Existed, but its mode, owner or mtime was not yet right when scanned. */
    final boolean unsettled;
    /** The manifest's names of its children (kept only for --delete). */
    final Set<String> children;
    /** The last name the manifest listed in it, to check the manifest's order. */
    String lastChild;
    /** The highest request number in its subtree, or -1 if none. */
    long lastRequest = -1;
    /** For --delete: its directory handle, opened from its parent's, once needed (see {@link DirectoryHandles}). */
    SecureDirectoryStream<Path> handle;

    OpenDirectory(MediaEntry entry, Path path, boolean created, boolean unsettled, boolean keepChildren) {
      this.entry = entry;
      this.path = path;
      this.created = created;
      this.unsettled = unsettled;
      this.children = keepChildren ? new HashSet<>() : null;
    }

    boolean contains(String relative) {
      return entry == null || relative.startsWith(entry.path()) && relative.length() > entry.path().length()
          && relative.charAt(entry.path().length()) == '/';
    }
  }

  /** The state of one pull. */
  private final class Run implements MediaTarReader.Listener {
    private final MediaSource source;
    private final PullOptions options;
    private final Consumer<PullProgress> progress;
    private final long started = clock.millis();
    private final OutstandingRequests planned = new OutstandingRequests();
    private final RequestFeed feed = new RequestFeed();
    private long plannedFiles;
    private volatile IOException readerFailure;
    /** The directories the scan is inside of, innermost on top; the root at the bottom. */
    private final ArrayDeque<OpenDirectory> open = new ArrayDeque<>();
    /**
     * Directories the scan has left whose files are still on their way, in the order they were
     * left (children before parents, and by their last request), to be finished once they arrive.
     */
    private final ArrayDeque<OpenDirectory> waiting = new ArrayDeque<>();
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
    private long nextRequest;
    private RootGuard guard;
    /** Warms this host's own tree ahead of the scan, which looks up each path in turn. */
    private WalkAhead ahead;
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
      try {
        if (options.dryRun()) {
          source.manifest(this::firstThenScan);
          begin();
          leaveAll();
          scannedAt = clock.millis();
        } else {
          scannedAt = scanWhileTransferring();
        }
      } finally {
        if (ahead != null) {
          ahead.close();
        }
        for (OpenDirectory dir : open) {
          DirectoryHandles.closeQuietly(dir.handle);
        }
      }
      long transferredAt = clock.millis();
      if (!options.dryRun()) {
        phase = PullProgress.Phase.FINISHING;
        report(true);
        finishReady(true);
        flusher.flush(guard.root());
      }
      logger.info(String.format(
          "media pull: scan %d ms (%d entries, %d to fetch), transfer %d ms (%d files, %d bytes), finish %d ms",
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
        leaveAll();
        feed.finish();
        scannedAt = clock.millis();
        report(true);
        join(readerThread);
      } catch (IOException | RuntimeException e) {
        // Either the scan's own failure, or the reader's that the scan passed on; the reader's
        // failure after this close is only a consequence. Ending the requests too lets a source
        // that waits for the next one end its stream, so the reader cannot wait forever.
        if (tar != null) {
          feed.finish();
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
      ahead = new WalkAhead(guard.root(), options.excludeCache() ? MediaPaths::isCache : path -> false);
      ahead.visited("", 0);
      reader = new MediaTarReader(guard, policy, this);
      open.push(new OpenDirectory(null, guard.root(), false, false, options.delete()));
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
      if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
        // Follows a symlink only if root owns it: see MediaRoot.
        Path real;
        try {
          real = MediaRoot.resolve(root);
        } catch (NoSuchFileException e) {
          throw new MediaException(MediaException.Reason.FAILED_PRECONDITION,
              "the media root " + root + " leads through a symlink to " + e.getFile() + ", which does not exist");
        }
        if (!Files.isDirectory(real, LinkOption.NOFOLLOW_LINKS)) {
          throw new MediaException(MediaException.Reason.FAILED_PRECONDITION, "the media root " + root + " is not a directory");
        }
        return;
      }
      if (options.dryRun()) {
        return;
      }
      Path parent = root.toAbsolutePath().getParent();
      if (parent == null || !Files.isDirectory(parent)) {
        throw new MediaException(
            MediaException.Reason.FAILED_PRECONDITION,
            "the media root's parent " + parent + " does not exist; is Mastodon installed on the target?");
      }
      try {
        Files.createDirectory(root);
        NoFollow.setMode(root, policy.dirMode(0755));
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
      OpenDirectory parent = enter(path);
      scanned++;
      Path local = guard.lexical(path);
      // Under a directory this run created there is nothing to compare: skip the lookups.
      boolean inNewDirectory = parent.created;
      if (entry.kind() == EntryKind.DIRECTORY) {
        // One lstat that also tells whether mode, owner and mtime are already right, so that the
        // finishing can skip directories nothing was written to (most of a re-sync).
        long lookedAt = System.nanoTime();
        Map<String, Object> unix = inNewDirectory ? null : unixAttributes(local);
        long lookup = System.nanoTime() - lookedAt;
        boolean created = false;
        boolean unsettled = false;
        if (unix == null) {
          directoriesCreated++;
          if (!options.dryRun()) {
            created = guard.directory(path, inNewDirectory, reader::createDirectory);
          }
        } else if (!(Boolean) unix.get("isDirectory")) {
          refuse(MediaPaths.printable(path) + ": a directory on the source but not on the target; left alone");
        } else {
          unsettled = !settled(local, entry, unix);
          ahead.visited(path, lookup); // only directories that were here: those the walk ahead can know of
        }
        open.push(new OpenDirectory(entry, local, created, unsettled, options.delete()));
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
            plan(parent, entry, offset);
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
            plan(parent, entry, 0);
          }
        }
      }
      report(false);
    }

    /**
     * Leaves the directories that {@code path} is not in, and checks that the manifest lists it
     * where a depth-first walk sorted by name would: right inside the directory listed last, after
     * its earlier siblings. Finishing directories and deleting as the scan goes both rely on that
     * order, so a manifest out of order is refused rather than half applied.
     *
     * @return the directory {@code path} is in
     */
    private OpenDirectory enter(String path) throws IOException {
      while (!open.peek().contains(path)) {
        leave(open.pop());
      }
      OpenDirectory parent = open.peek();
      String name = path.substring(parent.entry == null ? 0 : parent.entry.path().length() + 1);
      if (name.indexOf('/') >= 0 || (parent.lastChild != null && name.compareTo(parent.lastChild) <= 0)) {
        throw new MediaException(
            MediaException.Reason.INVALID_ARGUMENT,
            "the source's manifest is out of order at '" + MediaPaths.printable(path)
                + "' (entries must come depth first, sorted by name, each after its directory); nothing more was done");
      }
      parent.lastChild = name;
      if (parent.children != null) {
        parent.children.add(name);
      }
      return parent;
    }

    /** Leaves every directory, the root last: the manifest is complete. */
    private void leaveAll() throws IOException {
      while (open.size() > 1) {
        leave(open.pop());
      }
      if (options.delete()) {
        OpenDirectory root = open.peek();
        try {
          deleteExtraneous(root);
        } finally {
          DirectoryHandles.closeQuietly(root.handle);
          root.handle = null;
        }
      }
      ahead.close();
    }

    /**
     * The manifest has listed everything in {@code dir}: delete what the source no longer has
     * there (if asked), then finish it now if nothing is still on its way into it, or once it has
     * arrived.
     */
    private void leave(OpenDirectory dir) throws IOException {
      OpenDirectory parent = open.peek();
      parent.lastRequest = Math.max(parent.lastRequest, dir.lastRequest);
      if (options.delete()) {
        try {
          deleteExtraneous(dir);
        } finally {
          DirectoryHandles.closeQuietly(dir.handle);
          dir.handle = null;
        }
      }
      if (options.dryRun()) {
        return;
      }
      waiting.add(dir);
      finishReady(false);
    }

    /**
     * Finishes, oldest first, the directories left by the scan whose files have all been resolved,
     * or (at the end of a transfer) all of them.
     */
    private void finishReady(boolean all) throws IOException {
      while (!waiting.isEmpty() && (all || planned.resolvedThrough(waiting.peek().lastRequest))) {
        finish(waiting.poll());
      }
    }

    private void plan(OpenDirectory parent, MediaEntry entry, long offset) throws IOException {
      plannedFiles++;
      plannedBytes += entry.size() - offset;
      if (options.dryRun()) {
        return;
      }
      long request = nextRequest++;
      parent.lastRequest = request;
      planned.put(entry.path(), new MediaTarReader.Planned(entry, offset, request));
      feed.add(new FileRequest(entry.path(), offset));
      if (planned.size() >= maxOutstanding) {
        awaitTransfer();
      }
    }

    /**
     * Holds the scan (and so the manifest stream, by flow control) while the transfer catches up,
     * so the target keeps a bounded number of requests however large the tree; finishes
     * directories meanwhile.
     */
    private void awaitTransfer() throws IOException {
      while (planned.size() >= maxOutstanding) {
        try {
          planned.awaitBelow(maxOutstanding, 100, () -> readerFailure != null || !readerThread.isAlive());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while receiving media");
        }
        if (readerFailure != null) {
          throw readerFailure;
        }
        if (!readerThread.isAlive()) {
          throw new MediaException(MediaException.Reason.DATA_LOSS,
              "the source's stream ended while " + planned.size() + " requested files were outstanding; run the sync again");
        }
        finishReady(false);
      }
    }

    private void missing(String path) {
      if (planned.remove(path) != null) {
        refuse(MediaPaths.printable(path) + ": removed on the source since the manifest was read; not copied");
      }
    }

    /** Deletes (or, in a dry run, counts) what {@code dir} holds here and the source's manifest did not list. */
    private void deleteExtraneous(OpenDirectory dir) throws IOException {
      if (dir.created) {
        return;
      }
      SecureDirectoryStream<Path> handle = handle(dir, open.iterator());
      if (handle == null) {
        return; // not a directory here (the scan said so), or gone since
      }
      Map<String, Path> extraneous = new TreeMap<>(); // by relative path: deleted in name order
      for (Path child : handle) {
        Path name = child.getFileName();
        String relative = dir.entry == null ? name.toString() : dir.entry.path() + "/" + name;
        if (!dir.children.contains(name.toString()) && !MediaPaths.isPartial(name.toString())
            && !(options.excludeCache() && MediaPaths.isCache(relative))) {
          extraneous.put(relative, name);
        }
      }
      for (Map.Entry<String, Path> e : extraneous.entrySet()) {
        deleteTree(handle, e.getValue(), dir.path.resolve(e.getValue()), e.getKey());
      }
    }

    /**
     * The handle of a directory the scan has just left (so its parent is on top of {@code up}),
     * opening it, and any ancestor not yet open, from its parent's; null if it is not a directory.
     */
    private SecureDirectoryStream<Path> handle(OpenDirectory dir, Iterator<OpenDirectory> up)
        throws IOException {
      if (dir.handle == null) {
        if (dir.entry == null) {
          // A dry run may scan a root it has not created yet.
          dir.handle = Files.isDirectory(dir.path, LinkOption.NOFOLLOW_LINKS) ? MediaRoot.open(dir.path) : null;
        } else {
          SecureDirectoryStream<Path> parent = handle(up.next(), up);
          dir.handle = parent == null ? null : DirectoryHandles.openChild(parent, dir.path.getFileName());
        }
      }
      return dir.handle;
    }

    /**
     * Deletes a file, link or whole directory the source does not have, children first. Every step
     * goes through the handle of the directory it is in, never by path, so nothing swapped into
     * the tree while it runs (a symlink for a directory) can take it outside the root.
     */
    private void deleteTree(SecureDirectoryStream<Path> parent, Path name, Path path, String relative)
        throws IOException {
      BasicFileAttributes here = DirectoryHandles.attributes(parent, name);
      if (here == null) {
        return;
      }
      if (here.isDirectory()) {
        SecureDirectoryStream<Path> dir = DirectoryHandles.openChild(parent, name);
        if (dir == null) {
          refuse(MediaPaths.printable(relative) + ": changed while it was being deleted; left alone");
          return;
        }
        try (dir) {
          List<Path> children = new ArrayList<>();
          for (Path child : dir) {
            children.add(child.getFileName());
          }
          for (Path child : children) {
            if (!MediaPaths.isPartial(child.toString())) {
              deleteTree(dir, child, path.resolve(child), relative + "/" + child);
            }
          }
        }
      }
      if (!options.dryRun()) {
        try {
          if (here.isDirectory()) {
            parent.deleteDirectory(name);
          } else {
            parent.deleteFile(name);
          }
        } catch (java.nio.file.DirectoryNotEmptyException e) {
          refuse(MediaPaths.printable(relative) + ": not deleted, still holds partial files");
          return;
        } catch (NoSuchFileException e) {
          return;
        }
        reader.touched(path);
      }
      deleted++;
      report(false);
    }

    /** True if the directory at {@code path} already has the mode, owner and mtime it should end with. */
    private boolean settled(Path path, MediaEntry entry, Map<String, Object> unix) throws IOException {
      return ((Integer) unix.get("mode") & 07777) == policy.dirMode(entry.mode())
          && policy.owns(path, unix)
          && unix.get("lastModifiedTime").equals(FileTime.from(entry.mtimeNanos(), TimeUnit.NANOSECONDS));
    }

    /** Gives a directory its final mode, owner and mtime, once nothing more is written into it. */
    private void finish(OpenDirectory dir) throws IOException {
      boolean touched = reader.takeTouched(dir.path);
      if (!dir.unsettled && !dir.created && !touched) {
        return; // was right when scanned and nothing in it changed since
      }
      int mode = policy.dirMode(dir.entry.mode());
      FileTime mtime = FileTime.from(dir.entry.mtimeNanos(), TimeUnit.NANOSECONDS);
      if (dir.created) {
        // Made private (0700, the agent's owner) by this run and written into since: all three
        // differ, so set them without the lstat that would only say so.
        try {
          NoFollow.setMode(dir.path, mode);
          policy.own(dir.path);
          NoFollow.setTimes(dir.path, mtime);
        } catch (NoSuchFileException e) {
          logger.fine("directory removed before it was finished: " + dir.path);
        }
        return;
      }
      Map<String, Object> now = unixAttributes(dir.path);
      if (now == null || !(Boolean) now.get("isDirectory")) {
        return;
      }
      // Change only what differs: a no-op sync should not rewrite metadata of every directory.
      if (((Integer) now.get("mode") & 07777) != mode) {
        NoFollow.setMode(dir.path, mode);
      }
      if (!policy.owns(dir.path, now)) {
        policy.own(dir.path);
      }
      if (!now.get("lastModifiedTime").equals(mtime)) {
        NoFollow.setTimes(dir.path, mtime);
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
