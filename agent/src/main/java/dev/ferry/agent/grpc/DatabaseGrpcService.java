package dev.ferry.agent.grpc;

import com.google.protobuf.ByteString;
import dev.ferry.agent.postgres.CopyOptions;
import dev.ferry.agent.postgres.CopyRefusedException;
import dev.ferry.agent.postgres.CopySummary;
import dev.ferry.agent.postgres.DatabaseCopier;
import dev.ferry.agent.postgres.DatabaseCounts;
import dev.ferry.agent.postgres.DatabaseInspector;
import dev.ferry.agent.postgres.DumpProcess;
import dev.ferry.agent.postgres.PgTools;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import dev.ferry.proto.v1.CheckCopyRequest;
import dev.ferry.proto.v1.CheckCopyResponse;
import dev.ferry.proto.v1.CopyDatabaseRequest;
import dev.ferry.proto.v1.CopyDatabaseResponse;
import dev.ferry.proto.v1.CopyRefusal;
import dev.ferry.proto.v1.CountDatabaseRequest;
import dev.ferry.proto.v1.CountDatabaseResponse;
import dev.ferry.proto.v1.DatabaseServiceGrpc;
import dev.ferry.proto.v1.DescribeDatabaseRequest;
import dev.ferry.proto.v1.DescribeDatabaseResponse;
import dev.ferry.proto.v1.DumpDatabaseRequest;
import dev.ferry.proto.v1.DumpDatabaseResponse;
import dev.ferry.proto.v1.DumpHeader;
import dev.ferry.proto.v1.DumpTrailer;
import dev.ferry.proto.v1.Operation;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * DatabaseService: a thin adapter over the postgres package. Long work (dumps, copies) runs on
 * threads of its own so the gRPC executor never blocks on a pipe; every stream honours flow
 * control.
 */
public final class DatabaseGrpcService extends DatabaseServiceGrpc.DatabaseServiceImplBase {
  private static final Logger logger = Logger.getLogger(DatabaseGrpcService.class.getName());
  /** Within the 64 KiB–1 MiB range; under AgentServer's 2 MiB inbound limit with room to spare. */
  static final int CHUNK = 256 * 1024;

  private final PgTools pg;
  private final ProcessRunner runner;
  private final DatabaseInspector inspector;
  private final DatabaseCopier copier;
  private final PeerConnector peers;
  private final ExecutorService workers =
      Executors.newCachedThreadPool(
          runnable -> {
            Thread thread = new Thread(runnable, "database-worker");
            thread.setDaemon(true);
            return thread;
          });

  public DatabaseGrpcService(
      PgTools pg, ProcessRunner runner, DatabaseInspector inspector, DatabaseCopier copier, PeerConnector peers) {
    this.pg = pg;
    this.runner = runner;
    this.inspector = inspector;
    this.copier = copier;
    this.peers = peers;
  }

  /** The service and the methods a peer holding a dump ticket may call. */
  public AgentServer.Extension extension() {
    return new AgentServer.Extension(
        this,
        Map.of(
            DatabaseServiceGrpc.getDescribeDatabaseMethod().getFullMethodName(), Operation.OPERATION_DUMP_DATABASE,
            DatabaseServiceGrpc.getCountDatabaseMethod().getFullMethodName(), Operation.OPERATION_DUMP_DATABASE,
            DatabaseServiceGrpc.getDumpDatabaseMethod().getFullMethodName(), Operation.OPERATION_DUMP_DATABASE));
  }

  @Override
  public void describeDatabase(DescribeDatabaseRequest request, StreamObserver<DescribeDatabaseResponse> responses) {
    responses.onNext(DescribeDatabaseResponse.newBuilder().setFacts(DatabaseProtos.toProto(inspector.describe())).build());
    responses.onCompleted();
  }

  @Override
  public void countDatabase(CountDatabaseRequest request, StreamObserver<CountDatabaseResponse> responses) {
    try {
      DatabaseCounts counts;
      try {
        counts = inspector.counts();
      } catch (CommandFailedException e) {
        // Asked only now: in the common case the count itself is the one psql run.
        throw missingDatabaseOr(e);
      }
      responses.onNext(CountDatabaseResponse.newBuilder().setCounts(DatabaseProtos.toProto(counts)).build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void dumpDatabase(DumpDatabaseRequest request, StreamObserver<DumpDatabaseResponse> plain) {
    ServerCallStreamObserver<DumpDatabaseResponse> responses = (ServerCallStreamObserver<DumpDatabaseResponse>) plain;
    AtomicReference<DumpProcess> running = new AtomicReference<>();
    // Ready until four chunks wait in the transport (the default is 32 KiB, less than one chunk):
    // pg_dump keeps running while the last chunks are on their way, instead of waiting in
    // lockstep with each send. Bounded all the same: about 1 MiB per dump.
    responses.setOnReadyThreshold(CHUNK * 4);
    // A cancelled dump stops pg_dump at once; the sender then meets the cancel at its next wait,
    // and the catch below stays quiet about it.
    ReadyGate gate = new ReadyGate(responses, () -> {
      DumpProcess dump = running.get();
      if (dump != null) {
        dump.close();
      }
    });
    workers.execute(
        () -> {
          try {
            gate.await();
            responses.onNext(
                DumpDatabaseResponse.newBuilder().setHeader(DumpHeader.newBuilder().setDatabaseName(pg.database().name())).build());
            long bytes = 0;
            try (DumpProcess dump = DumpProcess.start(pg, runner)) {
              running.set(dump);
              if (gate.cancelled()) {
                return;
              }
              InputStream archive = dump.archive();
              byte[] buffer = new byte[CHUNK];
              int n;
              while ((n = archive.readNBytes(buffer, 0, CHUNK)) > 0) {
                gate.await();
                responses.onNext(DumpDatabaseResponse.newBuilder().setChunk(ByteString.copyFrom(buffer, 0, n)).build());
                bytes += n;
              }
              try {
                dump.finish();
              } catch (CommandFailedException e) {
                // pg_dump starts at once; only when it fails is it worth a query to say why.
                throw missingDatabaseOr(e);
              }
            }
            // Counted after the dump: if these equal the restored copy, nothing was lost and
            // nothing changed on the source since pg_dump's snapshot.
            DatabaseCounts after = inspector.counts();
            gate.await();
            responses.onNext(
                DumpDatabaseResponse.newBuilder()
                    .setTrailer(DumpTrailer.newBuilder().setCounts(DatabaseProtos.toProto(after)).setBytes(bytes))
                    .build());
            responses.onCompleted();
            logger.info("dumped " + pg.database().name() + ": " + bytes + " bytes");
          } catch (Exception e) {
            if (!gate.cancelled()) {
              logger.log(Level.WARNING, "dump failed: " + e.getMessage());
              responses.onError(Statuses.toStatus(e));
            }
          }
        });
  }

  /** "The database does not exist" if that is why {@code failure} happened, else the failure. */
  private Exception missingDatabaseOr(CommandFailedException failure) {
    try {
      if (!inspector.databaseExists()) {
        return new IllegalStateException("database " + pg.database().name() + " does not exist on this host");
      }
    } catch (CommandFailedException e) {
      failure.addSuppressed(e);
    }
    return failure;
  }

  @Override
  public void checkCopy(CheckCopyRequest request, StreamObserver<CheckCopyResponse> responses) {
    try {
      if (!request.hasSource()) {
        throw new IllegalArgumentException("the source's facts are required (read them with DescribeDatabase on the source)");
      }
      CopyOptions options = DatabaseProtos.fromProto(request.getOptions());
      DatabaseCopier.Check check = copier.check(DatabaseProtos.fromProto(request.getSource()), options);
      responses.onNext(
          CheckCopyResponse.newBuilder()
              .addAllProblems(check.problems().stream().map(DatabaseProtos::toProto).toList())
              .setTarget(DatabaseProtos.toProto(check.target()))
              .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void copyDatabase(CopyDatabaseRequest request, StreamObserver<CopyDatabaseResponse> plain) {
    ServerCallStreamObserver<CopyDatabaseResponse> responses = (ServerCallStreamObserver<CopyDatabaseResponse>) plain;
    CopyOptions options;
    try {
      if (!request.hasSource()) {
        throw new IllegalArgumentException("the source (address, fingerprint and ticket) is required");
      }
      options = DatabaseProtos.fromProto(request.getOptions());
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
      return;
    }
    ProgressSender progress = new ProgressSender(responses);
    AtomicReference<PeerDumpSource> source = new AtomicReference<>();
    responses.setOnReadyHandler(progress::flush);
    responses.setOnCancelHandler(
        () -> {
          progress.cancel();
          PeerDumpSource open = source.get();
          if (open != null) {
            // Cuts the dump; the copier then stops pg_restore and leaves the staging database.
            open.close();
          }
        });
    workers.execute(
        () -> {
          try (PeerDumpSource connected = PeerDumpSource.connect(peers, request.getSource())) {
            source.set(connected);
            if (progress.cancelled()) {
              // The controller left while the connection was being made: start nothing.
              return;
            }
            CopySummary summary =
                copier.copy(connected, options, p -> progress.offer(CopyDatabaseResponse.newBuilder().setProgress(DatabaseProtos.toProto(p)).build()));
            progress.finish(CopyDatabaseResponse.newBuilder().setSummary(DatabaseProtos.toProto(summary)).build(), null);
          } catch (CopyRefusedException e) {
            progress.finish(
                CopyDatabaseResponse.newBuilder()
                    .setRefusal(CopyRefusal.newBuilder().addAllProblems(e.problems().stream().map(DatabaseProtos::toProto).toList()))
                    .build(),
                Statuses.toStatus(e));
          } catch (Exception e) {
            logger.log(Level.WARNING, "database copy failed: " + e.getMessage());
            progress.finish(null, Statuses.toStatus(e));
          }
        });
  }

  /**
   * Sends progress when the stream can take it and drops what it cannot: only the latest
   * progress matters, so a slow controller never makes the copy wait or the agent buffer.
   */
  private static final class ProgressSender {
    private final ServerCallStreamObserver<CopyDatabaseResponse> responses;
    private CopyDatabaseResponse pending;
    private boolean closed;

    ProgressSender(ServerCallStreamObserver<CopyDatabaseResponse> responses) {
      this.responses = responses;
    }

    synchronized void offer(CopyDatabaseResponse progress) {
      pending = progress;
      flush();
    }

    synchronized void flush() {
      if (!closed && pending != null && responses.isReady()) {
        responses.onNext(pending);
        pending = null;
      }
    }

    synchronized void cancel() {
      closed = true;
    }

    synchronized boolean cancelled() {
      return closed;
    }

    /** The last message (always sent: it is small and final), then the end of the call. */
    synchronized void finish(CopyDatabaseResponse last, io.grpc.StatusException error) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (last != null) {
          responses.onNext(last);
        }
        if (error == null) {
          responses.onCompleted();
        } else {
          responses.onError(error);
        }
      } catch (RuntimeException e) {
        // The call went away meanwhile.
        logger.fine("could not finish the copy call: " + e.getMessage());
      }
    }
  }
}
