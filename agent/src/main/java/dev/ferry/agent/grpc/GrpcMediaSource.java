package dev.ferry.agent.grpc;

import dev.ferry.agent.media.FileRequest;
import dev.ferry.agent.media.ManifestBuilder;
import dev.ferry.agent.media.MediaException;
import dev.ferry.agent.media.MediaSource;
import dev.ferry.agent.media.RequestFeed;
import dev.ferry.proto.v1.GetManifestRequest;
import dev.ferry.proto.v1.GetManifestResponse;
import dev.ferry.proto.v1.ManifestEntry;
import dev.ferry.proto.v1.MediaServiceGrpc;
import dev.ferry.proto.v1.ReadFilesRequest;
import dev.ferry.proto.v1.ReadFilesResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Consumer;

/**
 * The target's view of a source agent, over an authorized peer connection. Inbound messages are
 * requested one at a time as the reader consumes them (a few in flight), and requests go out only
 * while the call is ready, so neither side's memory depends on the size of the transfer.
 */
final class GrpcMediaSource implements MediaSource {
  /** Messages received but not yet consumed: at most this many chunks of 1 MiB. */
  private static final int IN_FLIGHT = 6;
  private static final int REQUEST_BATCH = 256;

  private final Channel manifestChannel;
  private final Channel channel;

  /**
   * @param manifestChannel carries the manifest: its own connection (see
   *     PeerConnection.separateChannel), since the puller stops reading it while files catch up
   * @param channel carries the files
   */
  GrpcMediaSource(Channel manifestChannel, Channel channel) {
    this.manifestChannel = manifestChannel;
    this.channel = channel;
  }

  @Override
  public void manifest(ManifestBuilder.Sink sink) throws IOException {
    Inbound<GetManifestRequest, GetManifestResponse> inbound = new Inbound<>();
    MediaServiceGrpc.newStub(manifestChannel).getManifest(GetManifestRequest.getDefaultInstance(), inbound);
    try {
      GetManifestResponse batch;
      while ((batch = inbound.take()) != null) {
        for (ManifestEntry entry : batch.getEntriesList()) {
          try {
            sink.accept(MediaProtos.fromProto(entry));
          } catch (IllegalArgumentException e) {
            throw new MediaException(MediaException.Reason.INVALID_ARGUMENT, "the source's manifest is malformed: " + e.getMessage());
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      inbound.cancel(e);
      throw e;
    }
  }

  @Override
  public InputStream read(RequestFeed requests, Consumer<String> onMissing) {
    RequestSender sender = new RequestSender(requests);
    Inbound<ReadFilesRequest, ReadFilesResponse> inbound = new Inbound<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ReadFilesRequest> call) {
        super.beforeStart(call);
        sender.call = call;
        call.setOnReadyHandler(sender::drain);
      }
    };
    // The request stream is driven by the sender, not by the returned observer.
    MediaServiceGrpc.newStub(channel).readFiles(inbound);
    requests.onAvailable(sender::drain);
    sender.drain();
    return new InputStream() {
      private com.google.protobuf.ByteString current = com.google.protobuf.ByteString.EMPTY;
      private int position;
      private boolean ended;

      private boolean fill() throws IOException {
        while (position >= current.size()) {
          if (ended) {
            return false;
          }
          ReadFilesResponse next = inbound.take();
          if (next == null) {
            ended = true;
            return false;
          }
          if (next.hasMissing()) {
            onMissing.accept(next.getMissing());
          } else {
            current = next.getChunk();
            position = 0;
          }
        }
        return true;
      }

      @Override
      public int read() throws IOException {
        return fill() ? current.byteAt(position++) & 0xff : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        if (!fill()) {
          return -1;
        }
        int n = Math.min(len, current.size() - position);
        current.copyTo(b, position, off, n);
        position += n;
        return n;
      }

      @Override
      public void close() {
        if (!ended) {
          inbound.cancel(null);
        }
      }
    };
  }

  /**
   * Sends the feed's requests in batches while the call is ready; runs from gRPC's on-ready
   * callback and from the scan when new requests arrive, one at a time.
   */
  private static final class RequestSender {
    private final RequestFeed feed;
    private ClientCallStreamObserver<ReadFilesRequest> call;
    private boolean sentLast;

    RequestSender(RequestFeed feed) {
      this.feed = feed;
    }

    synchronized void drain() {
      if (call == null) {
        return;
      }
      try {
        while (!sentLast && call.isReady()) {
          ReadFilesRequest.Builder batch = ReadFilesRequest.newBuilder();
          FileRequest next;
          while (batch.getFilesCount() < REQUEST_BATCH && (next = feed.poll()) != null) {
            batch.addFilesBuilder().setPath(next.path()).setOffset(next.offset());
          }
          if (feed.drained()) {
            batch.setLast(true);
            sentLast = true;
          } else if (batch.getFilesCount() == 0) {
            return;
          }
          call.onNext(batch.build());
          if (sentLast) {
            call.onCompleted();
          }
        }
      } catch (IllegalStateException | io.grpc.StatusRuntimeException closed) {
        // The call already ended (cancelled or failed); the reader sees why.
      }
    }
  }

  /**
   * A response stream consumed by one thread: gRPC delivers into a small queue, and each message
   * taken is replaced by a request for one more.
   */
  private static class Inbound<R, T> implements ClientResponseObserver<R, T> {
    private static final Object END = new Object();
    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(IN_FLIGHT + 2);
    private volatile ClientCallStreamObserver<?> call;
    private boolean done;

    @Override
    public void beforeStart(ClientCallStreamObserver<R> requestStream) {
      this.call = requestStream;
      requestStream.disableAutoRequestWithInitial(IN_FLIGHT);
    }

    @Override
    public void onNext(T value) {
      queue.add(value);
    }

    @Override
    public void onError(Throwable t) {
      queue.add(t);
    }

    @Override
    public void onCompleted() {
      queue.add(END);
    }

    /** The next message, or null at the end; throws the source's failure as a MediaException. */
    @SuppressWarnings("unchecked")
    T take() throws IOException {
      if (done) {
        return null;
      }
      Object next;
      try {
        next = queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        cancel(e);
        throw new InterruptedIOException("interrupted while reading from the source");
      }
      if (next == END) {
        done = true;
        return null;
      }
      if (next instanceof Throwable t) {
        done = true;
        throw failure(t);
      }
      call.request(1);
      return (T) next;
    }

    void cancel(Throwable cause) {
      ClientCallStreamObserver<?> c = call;
      if (c != null && !done) {
        c.cancel("the target stopped reading", cause);
      }
    }
  }

  private static MediaException failure(Throwable t) {
    Status status = Status.fromThrowable(t);
    String description = status.getDescription() == null ? status.getCode().name() : status.getDescription();
    MediaException.Reason reason =
        switch (status.getCode()) {
          case PERMISSION_DENIED, UNAUTHENTICATED -> MediaException.Reason.PERMISSION_DENIED;
          case INVALID_ARGUMENT -> MediaException.Reason.INVALID_ARGUMENT;
          case FAILED_PRECONDITION, NOT_FOUND -> MediaException.Reason.FAILED_PRECONDITION;
          case DATA_LOSS -> MediaException.Reason.DATA_LOSS;
          default -> MediaException.Reason.UNAVAILABLE;
        };
    return new MediaException(reason, "source agent: " + description
        + (reason == MediaException.Reason.UNAVAILABLE ? " (the transfer was cut; run the sync again to resume)" : ""), t);
  }
}
