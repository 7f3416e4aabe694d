package dev.ferry.agent.media;

import java.util.ArrayDeque;

/**
 * The requests of one transfer, produced by the scan while the transfer already runs, so that
 * comparing and copying overlap. The consumer either polls (when gRPC says it can send) and is
 * told when requests become available, or blocks in {@link #next}.
 */
public final class RequestFeed {
  private final ArrayDeque<FileRequest> queue = new ArrayDeque<>();
  private boolean finished;
  private volatile Runnable onAvailable = () -> {};

  /** Adds a request; wakes the consumer when the queue was empty or a batch has gathered. */
  void add(FileRequest request) {
    boolean wake;
    synchronized (this) {
      queue.add(request);
      wake = queue.size() == 1 || queue.size() % 256 == 0;
      notifyAll();
    }
    if (wake) {
      onAvailable.run();
    }
  }

  /** No more requests will come. */
  void finish() {
    synchronized (this) {
      finished = true;
      notifyAll();
    }
    onAvailable.run();
  }

  /** Called (on the producer's thread, outside any lock) when there is something to take. */
  public void onAvailable(Runnable listener) {
    this.onAvailable = listener;
  }

  /** The next request if one is waiting, else null. */
  public synchronized FileRequest poll() {
    return queue.poll();
  }

  /** True once every request has been added and taken. */
  public synchronized boolean drained() {
    return finished && queue.isEmpty();
  }

  /** Blocks for the next request; null when the feed is finished and drained. */
  public synchronized FileRequest next() throws InterruptedException {
    while (queue.isEmpty() && !finished) {
      wait();
    }
    return queue.poll();
  }
}
