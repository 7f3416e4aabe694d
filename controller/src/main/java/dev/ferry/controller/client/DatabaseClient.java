package dev.ferry.controller.client;

import dev.ferry.proto.v1.CheckCopyRequest;
import dev.ferry.proto.v1.CheckCopyResponse;
import dev.ferry.proto.v1.CopyDatabaseRequest;
import dev.ferry.proto.v1.CopyDatabaseResponse;
import dev.ferry.proto.v1.CopyOptions;
import dev.ferry.proto.v1.CopySummary;
import dev.ferry.proto.v1.CountDatabaseRequest;
import dev.ferry.proto.v1.DatabaseFacts;
import dev.ferry.proto.v1.DatabaseServiceGrpc;
import dev.ferry.proto.v1.DescribeDatabaseRequest;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.PreflightProblem;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The controller's side of the database copy, for commands and the migration orchestrator.
 * Plain Java in, records out; gRPC stays in this package.
 */
public class DatabaseClient {
  private static final long PREFLIGHT_DEADLINE_SECONDS = 120;

  /**
   * Reads the source's facts and asks the target whether a copy may run. Changes nothing.
   *
   * @throws AgentException if either agent cannot be asked
   */
  public DbPreflight preflight(AgentClient source, AgentClient target, DbCopyOptions options) throws AgentException {
    DatabaseFacts sourceFacts;
    try {
      sourceFacts =
          DatabaseServiceGrpc.newBlockingStub(source.channel())
              .withDeadlineAfter(PREFLIGHT_DEADLINE_SECONDS, TimeUnit.SECONDS)
              .describeDatabase(DescribeDatabaseRequest.getDefaultInstance())
              .getFacts();
    } catch (StatusRuntimeException e) {
      throw Failures.of(source.host().name(), e);
    }
    CheckCopyResponse checked;
    try {
      checked =
          DatabaseServiceGrpc.newBlockingStub(target.channel())
              .withDeadlineAfter(PREFLIGHT_DEADLINE_SECONDS, TimeUnit.SECONDS)
              .checkCopy(CheckCopyRequest.newBuilder().setSource(sourceFacts).setOptions(toProto(options)).build());
    } catch (StatusRuntimeException e) {
      throw Failures.of(target.host().name(), e);
    }
    return new DbPreflight(problems(checked.getProblemsList()), side(sourceFacts), side(checked.getTarget()));
  }

  /**
   * The agent's database's row counts and sequence values. Changes nothing.
   *
   * @throws AgentException if the agent cannot be asked or cannot count (e.g. no database)
   */
  public DbCounts counts(AgentClient agent) throws AgentException {
    try {
      dev.ferry.proto.v1.DatabaseCounts counts =
          DatabaseServiceGrpc.newBlockingStub(agent.channel())
              .withDeadlineAfter(PREFLIGHT_DEADLINE_SECONDS, TimeUnit.SECONDS)
              .countDatabase(CountDatabaseRequest.getDefaultInstance())
              .getCounts();
      return new DbCounts(counts.getTableRowsMap(), counts.getSequenceValuesMap(), counts.getUnusedSequencesList());
    } catch (StatusRuntimeException e) {
      throw Failures.of(agent.host().name(), e);
    }
  }

  /**
   * Has {@code target} pull the database from the source named in {@code source} (issued by
   * {@link TicketIssuer} with OPERATION_DUMP_DATABASE), restore it into a staging database,
   * verify it and swap it in. Blocks until done; {@code progress} is called on this thread.
   *
   * @throws DbCopyRefusedException if the target's preflight refused (nothing was changed)
   * @throws AgentException if the copy failed: code ABORTED for a cut stream or a verification
   *     difference (the real database untouched, the staging database left for the next run to
   *     remove), INTERNAL for a failed pg_restore, UNAVAILABLE/PERMISSION_DENIED for the link
   */
  public DbCopyReport copy(AgentClient target, PeerSource source, DbCopyOptions options, Consumer<DbProgress> progress)
      throws AgentException, DbCopyRefusedException {
    CopyDatabaseRequest request = CopyDatabaseRequest.newBuilder().setSource(source).setOptions(toProto(options)).build();
    List<DbProblem> refusal = null;
    // The blocking iterator asks for one message at a time: flow control for free.
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      Iterator<CopyDatabaseResponse> responses =
          context.call(() -> DatabaseServiceGrpc.newBlockingStub(target.channel()).copyDatabase(request));
      while (responses.hasNext()) {
        CopyDatabaseResponse response = responses.next();
        switch (response.getEventCase()) {
          case PROGRESS -> progress.accept(
              new DbProgress(
                  response.getProgress().getPhase().name().replace("PHASE_", "").toLowerCase(java.util.Locale.ROOT),
                  response.getProgress().getBytesStreamed(),
                  response.getProgress().getTablesRestored(),
                  response.getProgress().getTablesTotal(),
                  response.getProgress().getNote()));
          case REFUSAL -> refusal = problems(response.getRefusal().getProblemsList());
          case SUMMARY -> {
            return report(response.getSummary());
          }
          default -> { }
        }
      }
      throw new AgentException(target.host().name(), "INTERNAL", "the copy ended without a summary", null);
    } catch (StatusRuntimeException e) {
      if (refusal != null) {
        throw new DbCopyRefusedException(target.host().name(), refusal);
      }
      throw Failures.of(target.host().name(), e);
    } catch (AgentException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new AgentException(target.host().name(), "INTERNAL", e.getMessage(), e);
    } finally {
      context.cancel(null);
    }
  }

  private static CopyOptions toProto(DbCopyOptions options) {
    return CopyOptions.newBuilder().setJobs(options.jobs()).setYes(options.yes()).build();
  }

  private static List<DbProblem> problems(List<PreflightProblem> list) {
    List<DbProblem> problems = new ArrayList<>();
    for (PreflightProblem p : list) {
      DbProblem.Severity severity =
          switch (p.getSeverity()) {
            case SEVERITY_WARNING -> DbProblem.Severity.WARNING;
            case SEVERITY_NEEDS_CONFIRMATION -> DbProblem.Severity.NEEDS_CONFIRMATION;
            default -> DbProblem.Severity.REFUSAL;
          };
      problems.add(new DbProblem(severity, p.getSide(), p.getCode(), p.getMessage()));
    }
    return problems;
  }

  private static DbSide side(DatabaseFacts f) {
    return new DbSide(f.getDatabaseName(), f.getRole(), f.getDatabaseExists(), f.getServerVersion(), f.getPgDumpVersion(),
        f.getPgRestoreVersion(), f.getDatabaseSizeBytes(), f.getDataFreeBytes(), f.getTableCount());
  }

  private static DbCopyReport report(CopySummary s) {
    return new DbCopyReport(
        s.getDatabaseName(),
        s.getRenamedAsideTo().isEmpty() ? Optional.empty() : Optional.of(s.getRenamedAsideTo()),
        s.getBytesStreamed(), s.getTablesVerified(), s.getRowsVerified(), s.getSequencesVerified(),
        s.getStreamMillis(), s.getRestoreMillis(), s.getVerifyMillis(), s.getSwapMillis(), s.getTotalMillis(),
        s.getJobs(), s.getRemovedLeftoverStaging(), s.getDropHint(), problems(s.getWarningsList()));
  }
}
