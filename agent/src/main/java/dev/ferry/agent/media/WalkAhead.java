package dev.ferry.agent.media;

import dev.ferry.agent.threads.DaemonThreads;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Lists directories a little ahead of a depth-first walk, on several threads, so a cold disk
 * serves many metadata reads at once: {@link ManifestBuilder}'s walk on the source, and on the
 * target the scan that looks up each path of the manifest in its own tree. Both must go one
 * directory after another (the manifest is depth first, sorted by name), and on a cold disk
 * nearly all of their time is spent waiting for one directory block or inode at a time: a
 * Mastodon tree has a directory or two per file ({@code 000/000/001/original/}). What this reads
 * is thrown away; the kernel's dentry and inode caches keep it, and the walk then finds it in
 * memory.
 *
 * <p>It takes the directories it knows of in the walk's own order, so it works just where the
 * walk is about to go, forgets those the walk has passed, and stops {@link #DIRECTORIES_AHEAD}
 * directories ahead of it, so on a large tree it does not read so far ahead that the kernel
 * drops the listings before the walk gets there. It works only while the disk is cold: it starts
 * when {@link #COLD_VISITS} of the last {@link #RECENT} directories the walk reports took {@link
 * #COLD_NANOS} or more to look at (a single slow one is as likely a preemption or a GC pause on
 * a busy machine as the disk, and starting on each of those cost a warm re-sync about a quarter
 * of the agents' time), and stops after {@link #WARM_STREAK} of its own listings in a row were
 * quicker than that (a cached tree, as in a re-sync soon after the last, where listing
 * everything twice would only cost CPU). It reads only, and passes nothing on: what it finds is
 * only where to look next. It does not enter a symlink it sees (a directory swapped for one
 * between its lstat and its listing could still lead it to list a directory elsewhere, which
 * costs reads and nothing else). A failure costs nothing but the head start: the walk meets the
 * same directory in turn and reports problems as before.
 *
 * <p>Bounded whatever the tree and however many walks run: one pool of {@link #THREADS} threads
 * for the whole agent, at most {@link #THREADS} listings at once per walk, and at most
 * {@link #PENDING_LIMIT} directories known but not yet listed (past that, the furthest are
 * forgotten and the walk lists them itself).
 */
final class WalkAhead implements AutoCloseable {
  /** Mostly waiting on the disk, not computing: more threads than cores keep its queue full. */
  static final int THREADS = 8;
  static final int DIRECTORIES_AHEAD = 2048;
  static final int PENDING_LIMIT = 16_384;
  /** A directory that took this long went to the disk; a cached one takes a few microseconds. */
  static final long COLD_NANOS = 100_000;
  static final int COLD_VISITS = 2;
  static final int RECENT = 16;
  static final int WARM_STREAK = 64;
  private static final ExecutorService THREAD_POOL = Executors.newFixedThreadPool(THREADS, new DaemonThreads("ferry-walk-ahead"));

  /**
   * The walk's order for relative paths: depth first, names sorted as {@link String#compareTo}
   * sorts them. That is the order of the strings with {@code '/'} below every other character, so
   * a directory's subtree comes right after it and before its next sibling.
   */
  static final Comparator<String> DEPTH_FIRST =
      (a, b) -> {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
          char x = a.charAt(i);
          char y = b.charAt(i);
          if (x != y) {
            return x == '/' ? -1 : y == '/' ? 1 : Character.compare(x, y);
          }
        }
        return Integer.compare(a.length(), b.length());
      };

  private final Path root;
  private final Predicate<String> leaveOut;
  private final Consumer<String> onListed;
  private final long coldNanos;
  private final TreeSet<String> pending = new TreeSet<>(DEPTH_FIRST);
  private int running;
  private long listed;
  private long visited;
  /** The directory the walk entered last. */
  private String position = "";
  private boolean cold;
  /** One bit for each of the walk's last {@link #RECENT} directories, the latest lowest: 1 if it was slow. */
  private int recent;
  private int warmStreak;
  private volatile boolean closed;

  /** Starts on {@code root}'s children; {@code root} must be a real path (the walk's). */
  WalkAhead(Path root, Predicate<String> leaveOut) {
    this(root, leaveOut, path -> { }, COLD_NANOS);
  }

  /**
   * @param leaveOut directories (by relative path) the walk will not enter, so neither does this
   * @param onListed told of every directory listed ahead, by relative path (tests)
   * @param coldNanos how long a look at a directory takes when it goes to the disk (tests)
   */
  WalkAhead(Path root, Predicate<String> leaveOut, Consumer<String> onListed, long coldNanos) {
    this.root = root;
    this.leaveOut = leaveOut;
    this.onListed = onListed;
    this.coldNanos = coldNanos;
    // No lock needed: pending is final, so whoever gets this instance sees it as built here.
    pending.add("");
  }

  /**
   * The walk has entered {@code directory} (relative; the root is "") and took {@code nanos} to
   * look at it, which says whether the disk is cold here.
   */
  synchronized void visited(String directory, long nanos) {
    visited++;
    position = directory;
    boolean slow = nanos >= coldNanos;
    recent = (recent << 1 | (slow ? 1 : 0)) & ((1 << RECENT) - 1);
    if (slow && Integer.bitCount(recent) >= COLD_VISITS) {
      cold = true;
      warmStreak = 0;
    }
    schedule();
  }

  /** Starts another lister while there is work, room ahead of the walk and a thread to spare. */
  private void schedule() {
    if (canList() && running < THREADS) {
      running++;
      THREAD_POOL.execute(this::listWhileThereIsWork);
    }
  }

  private boolean canList() {
    return !closed && cold && listed - visited < DIRECTORIES_AHEAD && !pending.isEmpty();
  }

  /**
   * The next directory to list, forgetting those whose whole subtree the walk has passed; null if
   * none is left. A directory the walk is inside is still listed (its later children are ahead),
   * but says nothing of the disk: the walk has just read it.
   */
  private String next() {
    while (!pending.isEmpty()) {
      String first = pending.pollFirst();
      if (isAhead(first) || first.isEmpty() || position.equals(first) || position.startsWith(first + "/")) {
        return first;
      }
    }
    return null;
  }

  private boolean isAhead(String directory) {
    return DEPTH_FIRST.compare(directory, position) > 0;
  }

  /**
   * Lists one directory after another for as long as it may, rather than one pool task each: a
   * handoff between threads costs about as much as listing a directory that is already cached.
   */
  private void listWhileThereIsWork() {
    while (true) {
      String directory;
      boolean ahead;
      synchronized (this) {
        directory = canList() ? next() : null;
        if (directory == null) {
          running--;
          return;
        }
        ahead = isAhead(directory);
        schedule(); // a sibling for the next directory, if there is one
      }
      long started = System.nanoTime();
      List<String> children = list(directory);
      long nanos = System.nanoTime() - started;
      synchronized (this) {
        listed++;
        if (ahead) {
          warmStreak = nanos < coldNanos ? warmStreak + 1 : 0;
          if (warmStreak >= WARM_STREAK) {
            cold = false;
            recent = 0; // what made it start is over: it takes new evidence to start again
          }
        }
        if (!closed) {
          pending.addAll(children);
          while (pending.size() > PENDING_LIMIT) {
            pending.pollLast();
          }
        }
      }
    }
  }

  /** The subdirectories of {@code directory}, read with the inode of every entry in it. */
  private List<String> list(String directory) {
    List<String> children = new ArrayList<>();
    String prefix = directory.isEmpty() ? "" : directory + "/";
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory.isEmpty() ? root : root.resolve(directory))) {
      for (Path child : entries) {
        if (closed) {
          break;
        }
        String name = child.getFileName().toString();
        if (MediaPaths.isPartial(name)) {
          continue;
        }
        // The inode read is most of what the walk would wait for; reading it here is the point.
        if (Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isDirectory()
            && !leaveOut.test(prefix + name)) {
          children.add(prefix + name);
        }
      }
      onListed.accept(directory);
    } catch (IOException | RuntimeException e) {
      // Gone, unreadable or not a directory any more: the walk meets it in turn and says so.
    }
    return children;
  }

  /** No listing is under way (tests). */
  synchronized boolean idle() {
    return running == 0;
  }

  /** The walk is over: nothing more is handed out, and listings under way stop at their next entry. */
  @Override
  public synchronized void close() {
    closed = true;
    pending.clear();
  }
}
