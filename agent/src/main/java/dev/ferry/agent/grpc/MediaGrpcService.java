package dev.ferry.agent.grpc;

import dev.ferry.agent.disk.HardlinkProtection;
import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.media.FileRequest;
import dev.ferry.agent.media.HashWarmup;
import dev.ferry.agent.media.ManifestBuilder;
import dev.ferry.agent.media.MediaPuller;
import dev.ferry.agent.media.MediaTarWriter;
import dev.ferry.agent.media.PullSummary;
import dev.ferry.agent.media.ReadAhead;
import dev.ferry.agent.media.TargetPolicy;
import dev.ferry.agent.threads.DaemonThreads;
import dev.ferry.proto.v1.GetManifestRequest;
import dev.ferry.proto.v1.GetManifestResponse;
import dev.ferry.proto.v1.MediaServiceGrpc;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PullMediaRequest;
import dev.ferry.proto.v1.PullMediaResponse;
import dev.ferry.proto.v1.ReadFilesRequest;
import dev.ferry.proto.v1.ReadFilesResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Adapts the media package to MediaService. The source side (GetManifest, ReadFiles) serves peer
 * agents holding a READ_MEDIA ticket; the target side (PullMedia) serves the controller and pulls
 * from the source over a {@link PeerConnector} connection. Each stream runs on its own worker
 * thread and waits for gRPC's readiness before every message, and inbound messages are requested
 * one at a time, so memory stays bounded whatever the sizes or the peer's speed.
 */
public final class MediaGrpcService extends MediaServiceGrpc.MediaServiceImplBase {
  private static final Logger logger = Logger.getLogger(MediaGrpcService.class.getName());
  private static final int MANIFEST_BATCH = 1000;
  /** Requests the source holds before it stops asking the target for more. */
  private static final int PENDING_REQUESTS = 4096;
  private static final long PROGRESS_EVERY_MILLIS = 250;

  private final Layout layout;
  private final PeerConnector peers;
  private final MediaPuller.Flusher flusher;
  private final Clock clock;
  private final HardlinkProtection links;
  private final AtomicBoolean pulling = new AtomicBoolean();
  private final ExecutorService workers = Executors.newCachedThreadPool(new DaemonThreads("ferry-media"));

  public MediaGrpcService(
      Layout layout, PeerConnector peers, MediaPuller.Flusher flusher, Clock clock, HardlinkProtection links) {
    this.layout = layout;
    this.links = links;
    this.peers = peers;
    this.flusher = flusher;
    this.clock = clock;
    HashWarmup.start();
  }

  /** The extension for {@link AgentServer}: this service and the methods peers may call. */
  public AgentServer.Extension extension() {
    return new AgentServer.Extension(
        this,
        Map.of(
            MediaServiceGrpc.getGetManifestMethod().getFullMethodName(), Operation.OPERATION_READ_MEDIA,
            MediaServiceGrpc.getReadFilesMethod().getFullMethodName(), Operation.OPERATION_READ_MEDIA));
  }

  @Override
  public void getManifest(GetManifestRequest request, StreamObserver<GetManifestResponse> responses) {
    ServerCallStreamObserver<GetManifestResponse> call = (ServerCallStreamObserver<GetManifestResponse>) responses;
    ReadyGate gate = new ReadyGate(call);
    workers.execute(
        () -> {
          try {
            links.require("send media");
            GetManifestResponse.Builder batch = GetManifestResponse.newBuilder();
            ManifestBuilder.walk(
                layout.mediaRoot(),
                entry -> {
                  batch.addEntries(MediaProtos.toProto(entry));
                  if (batch.getEntriesCount() >= MANIFEST_BATCH) {
                    gate.await();
                    call.onNext(batch.build());
                    batch.clearEntries();
                  }
                });
            if (batch.getEntriesCount() > 0) {
              gate.await();
              call.onNext(batch.build());
            }
            call.onCompleted();
          } catch (Exception e) {
            fail(call, gate, "GetManifest", e);
          }
        });
  }

  @Override
  public StreamObserver<ReadFilesRequest> readFiles(StreamObserver<ReadFilesResponse> responses) {
    ServerCallStreamObserver<ReadFilesResponse> call = (ServerCallStreamObserver<ReadFilesResponse>) responses;
    call.disableAutoRequest();
    call.setOnReadyThreshold(ChunkOutputStream.CHUNK * 4);
    ReadyGate gate = new ReadyGate(call);
    PendingRequests pending = new PendingRequests(call);
    call.request(1);
    workers.execute(() -> serveFiles(call, gate, pending));
    return new StreamObserver<>() {
      @Override
      public void onNext(ReadFilesRequest request) {
        pending.add(request);
      }

      @Override
      public void onError(Throwable t) {
        pending.abort();
      }

      @Override
      public void onCompleted() {
        pending.end();
      }
    };
  }

  private void serveFiles(ServerCallStreamObserver<ReadFilesResponse> call, ReadyGate gate, PendingRequests pending) {
    ChunkOutputStream out = new ChunkOutputStream(call, gate);
    try {
      links.require("send media");
    } catch (IllegalStateException e) {
      fail(call, gate, "ReadFiles", e);
      return;
    }
    try (MediaTarWriter tar = new MediaTarWriter(layout.mediaRoot(), out);
        ReadAhead readAhead = new ReadAhead(layout.mediaRoot())) {
      FileRequest next;
      while (true) {
        if (pending.idleFor(IDLE_FLUSH_MILLIS)) {
          // Nothing more asked for yet: send what is written, so the target is not left waiting
          // for the end of a file that sits in a buffer here while it holds back new requests.
          tar.flush();
          out.flush();
        }
        if ((next = pending.take(gate)) == null) {
          break;
        }
        readAhead.advance(pending.taken(), pending.upcoming(ReadAhead.FILES_AHEAD));
        if (!tar.write(next)) {
          // Order relative to the tar bytes does not matter: the target only needs every
          // missing report before the tar's end records, which finish() writes last.
          out.send(ReadFilesResponse.newBuilder().setMissing(next.path()).build());
        }
      }
      tar.finish();
      out.flush();
      call.onCompleted();
    } catch (Exception e) {
      fail(call, gate, "ReadFiles", e);
    }
  }

  @Override
  public void pullMedia(PullMediaRequest request, StreamObserver<PullMediaResponse> responses) {
    ServerCallStreamObserver<PullMediaResponse> call = (ServerCallStreamObserver<PullMediaResponse>) responses;
    ReadyGate gate = new ReadyGate(call);
    if (!request.hasSource()) {
      call.onError(Status.INVALID_ARGUMENT.withDescription("PullMedia needs a source").asException());
      return;
    }
    if (!pulling.compareAndSet(false, true)) {
      call.onError(Status.FAILED_PRECONDITION.withDescription("a media pull is already running on this agent").asException());
      return;
    }
    workers.execute(
        () -> {
          try {
            links.require("receive media");
            TargetPolicy policy = TargetPolicy.forLayout(layout, FileSystems.getDefault());
            MediaPuller puller = new MediaPuller(layout.mediaRoot(), policy, flusher, clock);
            long[] lastSent = {0};
            PullSummary summary;
            try (PeerConnector.PeerConnection connection = peers.connect(request.getSource())) {
              summary =
                  puller.pull(
                      new GrpcMediaSource(connection.separateChannel(), connection.channel()),
                      MediaProtos.fromProto(request.getOptions()),
                      progress -> {
                        long now = clock.millis();
                        // Progress is lossy: a slow controller gets fewer updates, never a backlog.
                        if (now - lastSent[0] >= PROGRESS_EVERY_MILLIS && call.isReady() && !gate.cancelled()) {
                          lastSent[0] = now;
                          call.onNext(PullMediaResponse.newBuilder().setProgress(MediaProtos.toProto(progress)).build());
                        }
                      });
            }
            gate.await();
            call.onNext(PullMediaResponse.newBuilder().setSummary(MediaProtos.toProto(summary)).build());
            call.onCompleted();
          } catch (Exception e) {
            fail(call, gate, "PullMedia", e);
          } finally {
            pulling.set(false);
          }
        });
  }

  private void fail(ServerCallStreamObserver<?> call, ReadyGate gate, String method, Exception e) {
    if (gate.cancelled()) {
      logger.info(method + " ended: the caller went away");
      return;
    }
    logger.log(Level.INFO, method + " failed: " + e.getMessage());
    try {
      call.onError(
          workers.isShutdown()
              ? Status.UNAVAILABLE.withDescription("the agent is shutting down").asException()
              : Statuses.toStatus(e));
    } catch (IllegalStateException alreadyClosed) {
      // The call was closed concurrently (for example cancelled just now); nothing to tell.
    }
  }

  /** Stops the worker threads (on agent shutdown). */
  public void shutdown() {
    workers.shutdownNow();
  }

  /** How long the source waits for the next request before sending what it has written. */
  private static final long IDLE_FLUSH_MILLIS = 5;

  /**
   * The paths a target asked for and the source has not sent yet. The source asks the target for
   * the next batch only while fewer than {@link #PENDING_REQUESTS} wait, so a target cannot make
   * it buffer an unbounded list.
   */
  private static final class PendingRequests {
    private final ServerCallStreamObserver<?> call;
    private final ArrayDeque<FileRequest> queue = new ArrayDeque<>();
    private boolean ended;
    private boolean aborted;
    private boolean requestOutstanding = true;
    private long taken;

    PendingRequests(ServerCallStreamObserver<?> call) {
      this.call = call;
    }

    synchronized void add(ReadFilesRequest request) {
      requestOutstanding = false;
      for (var file : request.getFilesList()) {
        queue.add(new FileRequest(file.getPath(), file.getOffset()));
      }
      if (request.getLast()) {
        ended = true;
      }
      askForMore();
      notifyAll();
    }

    synchronized void end() {
      ended = true;
      notifyAll();
    }

    synchronized void abort() {
      aborted = true;
      notifyAll();
    }

    private void askForMore() {
      if (!ended && !aborted && !requestOutstanding && queue.size() < PENDING_REQUESTS) {
        requestOutstanding = true;
        call.request(1);
      }
    }

    /**
     * True if no request is waiting to be served, even after {@code millis}: the target's
     * requests come in batches, and a short wait saves flushing a part-filled chunk between two.
     */
    synchronized boolean idleFor(long millis) throws java.io.InterruptedIOException {
      if (queue.isEmpty() && !ended && !aborted) {
        try {
          wait(millis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException();
        }
      }
      return queue.isEmpty();
    }

    /** The next request, or null when the target has asked for everything and all was sent. */
    synchronized FileRequest take(ReadyGate gate) throws IOException {
      while (queue.isEmpty()) {
        if (ended) {
          return null;
        }
        if (aborted || gate.cancelled()) {
          throw new IOException("the target cancelled the transfer");
        }
        askForMore();
        try {
          wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException();
        }
      }
      FileRequest next = queue.poll();
      taken++;
      askForMore();
      return next;
    }

    /** How many requests {@link #take} has returned. */
    synchronized long taken() {
      return taken;
    }

    /** The next {@code n} requests (or fewer) waiting to be taken, in order. */
    synchronized List<FileRequest> upcoming(int n) {
      List<FileRequest> next = new ArrayList<>(Math.min(n, queue.size()));
      for (FileRequest request : queue) {
        if (next.size() == n) {
          break;
        }
        next.add(request);
      }
      return next;
    }
  }
}
