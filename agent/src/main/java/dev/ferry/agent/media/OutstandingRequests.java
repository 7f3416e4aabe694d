package dev.ferry.agent.media;

import java.util.AbstractMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The files requested from the source and not yet resolved (received, reported missing, or
 * discarded as changed), keyed by path, each with the sequence number of its request. The scan
 * adds, the tar reader removes; the scan waits while too many are outstanding, so the target's
 * memory does not grow with the size of the tree, and learns which requests are all resolved, so
 * it can finish a directory as soon as nothing more will be written into it.
 */
final class OutstandingRequests extends AbstractMap<String, MediaTarReader.Planned> {
  private final Map<String, MediaTarReader.Planned> byPath = new HashMap<>();
  private final TreeSet<Long> sequences = new TreeSet<>();

  @Override
  public synchronized MediaTarReader.Planned put(String path, MediaTarReader.Planned planned) {
    MediaTarReader.Planned previous = byPath.put(path, planned);
    if (previous != null) {
      sequences.remove(previous.sequence());
    }
    sequences.add(planned.sequence());
    return previous;
  }

  @Override
  public synchronized MediaTarReader.Planned get(Object path) {
    return byPath.get(path);
  }

  @Override
  public synchronized MediaTarReader.Planned remove(Object path) {
    MediaTarReader.Planned removed = byPath.remove(path);
    if (removed != null) {
      sequences.remove(removed.sequence());
      notifyAll();
    }
    return removed;
  }

  @Override
  public synchronized int size() {
    return byPath.size();
  }

  @Override
  public synchronized boolean isEmpty() {
    return byPath.isEmpty();
  }

  /** A copy, so callers never iterate while the reader removes. */
  @Override
  public synchronized Set<Map.Entry<String, MediaTarReader.Planned>> entrySet() {
    return Set.copyOf(new HashMap<>(byPath).entrySet());
  }

  /** True if every request numbered {@code sequence} or lower is resolved. */
  synchronized boolean resolvedThrough(long sequence) {
    return sequences.isEmpty() || sequences.first() > sequence;
  }

  /**
   * Waits until fewer than {@code limit} requests are outstanding, or {@code stop} says the
   * transfer ended (then returns at once: the caller looks at why). Wakes at least every
   * {@code pollMillis}, so a reader that dies without removing anything cannot hang the scan.
   */
  synchronized void awaitBelow(int limit, long pollMillis, java.util.function.BooleanSupplier stop)
      throws InterruptedException {
    while (byPath.size() >= limit && !stop.getAsBoolean()) {
      wait(pollMillis);
    }
  }
}
