package dev.ferry.agent.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;

/**
 * Lets a worker thread that produces a server stream wait until gRPC can take another message,
 * so a slow receiver makes the sender wait instead of piling messages up in memory. The one
 * place the agent's server streams block for readiness: media, database dumps, tootctl output
 * and Redis dumps all go through it (progress messages are dropped when not ready instead, and
 * the media client's requests are sent from the ready callback). Create it in the rpc method
 * itself, where gRPC accepts its handlers.
 */
final class ReadyGate {
  private final ServerCallStreamObserver<?> call;
  private final Object lock = new Object();
  private volatile boolean cancelled;

  ReadyGate(ServerCallStreamObserver<?> call) {
    this(call, () -> { });
  }

  /** @param onCancel run once if the caller cancels, before any waiting sender is woken */
  ReadyGate(ServerCallStreamObserver<?> call, Runnable onCancel) {
    this.call = call;
    call.setOnReadyHandler(this::signal);
    call.setOnCancelHandler(
        () -> {
          cancelled = true;
          try {
            onCancel.run();
          } finally {
            signal();
          }
        });
  }

  private void signal() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  boolean cancelled() {
    return cancelled || call.isCancelled();
  }

  /** Blocks until the call is ready for a message; throws if the peer went away. */
  void await() throws IOException {
    await(null);
  }

  /**
   * Like {@link #await()}, and also throws if the receiver has taken nothing for {@code
   * stallLimit} (null: no limit).
   */
  void await(Duration stallLimit) throws IOException {
    long began = System.nanoTime();
    synchronized (lock) {
      while (true) {
        if (cancelled()) {
          throw new IOException("the caller cancelled the call");
        }
        if (call.isReady()) {
          return;
        }
        if (stallLimit != null && System.nanoTime() - began > stallLimit.toNanos()) {
          throw new IOException("the receiver took no data for "
              + (stallLimit.toMinutes() > 0 ? stallLimit.toMinutes() + " minutes" : stallLimit.toMillis() + " ms"));
        }
        try {
          // The handler notifies; the timeout only guards against a lost wake-up.
          lock.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for the receiver");
        }
      }
    }
  }
}
