package dev.ferry.agent.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The one wait for readiness that every agent stream uses, against a stand-in call whose
 * readiness and cancellation the test flips (the real streams run in the e2e and load tests).
 */
class ReadyGateTest {
  /** A server call whose readiness the test controls; it records what is sent. */
  private static final class StandInCall extends ServerCallStreamObserver<String> {
    volatile boolean ready;
    volatile boolean cancelled;
    Runnable onReady = () -> { };
    Runnable onCancel = () -> { };
    final List<String> sent = new ArrayList<>();

    void becomeReady() {
      ready = true;
      onReady.run();
    }

    void cancel() {
      cancelled = true;
      ready = false;
      onCancel.run();
    }

    @Override public boolean isCancelled() {
      return cancelled;
    }

    @Override public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    @Override public boolean isReady() {
      return ready;
    }

    @Override public void setOnReadyHandler(Runnable handler) {
      onReady = handler;
    }

    @Override public synchronized void onNext(String value) {
      sent.add(value);
    }

    @Override public void setCompression(String compression) { }

    @Override public void disableAutoInboundFlowControl() { }

    @Override public void request(int count) { }

    @Override public void setMessageCompression(boolean enable) { }

    @Override public void onError(Throwable t) { }

    @Override public void onCompleted() { }
  }

  @Test
  void waitsUntilTheCallIsReadyAndNoLonger() throws Exception {
    StandInCall call = new StandInCall();
    ReadyGate gate = new ReadyGate(call);
    CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
      try {
        gate.await();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThrows(TimeoutException.class, () -> waiting.get(300, TimeUnit.MILLISECONDS), "returned before the call was ready");
    call.becomeReady();
    waiting.get(5, TimeUnit.SECONDS);
    gate.await(); // ready: returns at once
  }

  @Test
  void aCancelWakesTheWaiterWithAnErrorAndRunsTheCancelActionOnce() throws Exception {
    StandInCall call = new StandInCall();
    AtomicInteger stopped = new AtomicInteger();
    ReadyGate gate = new ReadyGate(call, stopped::incrementAndGet);
    CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
      try {
        gate.await();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThrows(TimeoutException.class, () -> waiting.get(300, TimeUnit.MILLISECONDS));
    assertFalse(gate.cancelled());
    call.cancel();
    ExecutionException failure = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
    assertTrue(failure.getCause().getMessage().contains("cancelled"), failure.getCause().getMessage());
    assertEquals(1, stopped.get());
    assertTrue(gate.cancelled());
    // Even a call that reads ready again is not sent to once cancelled.
    call.ready = true;
    assertThrows(IOException.class, gate::await);
  }

  @Test
  void aReceiverThatTakesNothingForTheStallLimitEndsTheWait() {
    StandInCall call = new StandInCall();
    ReadyGate gate = new ReadyGate(call);
    long began = System.nanoTime();
    IOException stalled = assertThrows(IOException.class, () -> gate.await(Duration.ofMillis(200)));
    assertTrue(stalled.getMessage().contains("took no data"), stalled.getMessage());
    assertTrue(System.nanoTime() - began >= TimeUnit.MILLISECONDS.toNanos(200), "gave up before the limit");
  }

  @Test
  void theSenderSendsOnlyWhenReady() throws Exception {
    StandInCall call = new StandInCall();
    FlowControlledSender<String> sender = new FlowControlledSender<>(call);
    CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
      try {
        sender.send("first");
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThrows(TimeoutException.class, () -> sending.get(300, TimeUnit.MILLISECONDS));
    assertEquals(List.of(), call.sent);
    call.becomeReady();
    sending.get(5, TimeUnit.SECONDS);
    assertEquals(List.of("first"), call.sent);
    call.cancel();
    assertTrue(sender.cancelled());
    assertThrows(IOException.class, () -> sender.send("after the cancel"));
    assertEquals(List.of("first"), call.sent);
  }
}
