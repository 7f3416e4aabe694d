package dev.ferry.controller.migration;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Runs the steps of design.md section 5 in order, recording each in the {@link Journal}. A
 * resumed migration skips what is done and runs an interrupted step again (every step is
 * idempotent). Knows nothing of picocli or gRPC.
 */
public final class Migration {
  private final MigrationOps ops;
  private final Journal journal;
  private final Consumer<String> log;

  public Migration(MigrationOps ops, Journal journal, Consumer<String> log) {
    this.ops = ops;
    this.journal = journal;
    this.log = log;
  }

  /**
   * Runs (or resumes) the migration.
   *
   * @param confirm asked once, before the first unit is stopped; false aborts with nothing stopped
   */
  public void run(BooleanSupplier confirm) throws PreflightRefusedException, MigrationFailedException, IOException {
    HostFacts source;
    HostFacts target;
    try {
      source = ops.facts(Side.SOURCE);
      target = ops.facts(Side.TARGET);
    } catch (Exception e) {
      throw new MigrationFailedException(StepName.PREFLIGHT, message(e), e);
    }
    if (!isDone(StepName.PREFLIGHT)) {
      journal.started(StepName.PREFLIGHT);
      List<Check> checks = new java.util.ArrayList<>(Preflight.run(source, target, journal.excludeCache()));
      try {
        checks.addAll(ops.extraChecks());
      } catch (Exception e) {
        journal.failed(StepName.PREFLIGHT, message(e));
        throw new MigrationFailedException(StepName.PREFLIGHT, message(e), e);
      }
      if (!Preflight.passed(checks)) {
        journal.failed(StepName.PREFLIGHT, "refused: " + checks.stream().filter(c -> !c.passed()).map(Check::name).toList());
        journal.outcome("refused by preflight");
        throw new PreflightRefusedException(checks);
      }
      journal.finished(StepName.PREFLIGHT, StepResult.done(checks.size() + " checks passed"));
    }
    String domain = source.localDomain();
    step(StepName.PRESYNC_MEDIA, () -> ops.syncMedia(journal.excludeCache(), log));
    if (!isDone(StepName.STOP_TARGET) && !confirm.getAsBoolean()) {
      journal.outcome("aborted before any unit was stopped");
      throw new MigrationFailedException(StepName.STOP_TARGET, "not confirmed; nothing was stopped", null);
    }
    step(StepName.STOP_TARGET, () -> ops.stopServices(Side.TARGET));
    step(StepName.WRITE_SECRETS, ops::copySecrets);
    if (journal.downtimeStartedAt().isEmpty()) {
      journal.downtimeStarted(Instant.now());
    }
    step(StepName.STOP_SOURCE, () -> ops.stopServices(Side.SOURCE));
    // An attempt that started may have swapped its copy in just before the crash or cut link,
    // with no time left to journal it: then the target already holds the source's data. Equal
    // counts show that only if the target did not match the source before the first attempt:
    // after a rollback the target still holds the previous migration's copy, and a source that
    // only saw UPDATEs since has the same counts but other data. So that is asked, and journaled,
    // before any attempt starts.
    Journal.State copyBefore = journal.entry(StepName.COPY_DATABASE).state;
    if (copyBefore == Journal.State.PENDING) {
      journal.targetMatchedBeforeCopy(targetMatchesSource());
    }
    boolean copyAttempted = copyBefore == Journal.State.RUNNING || copyBefore == Journal.State.FAILED;
    boolean countsProveLanding = copyAttempted && !journal.targetMatchedBeforeCopy();
    step(StepName.COPY_DATABASE, () -> {
      if (countsProveLanding) {
        java.util.Optional<StepResult> landed = ops.databaseAlreadyCopied();
        if (landed.isPresent()) {
          return landed.get();
        }
      }
      return ops.copyDatabase(log);
    });
    step(StepName.FINAL_MEDIA, () -> ops.syncMedia(journal.excludeCache(), log));
    step(StepName.REDIS, () -> journal.withRedis() ? ops.copyRedis() : StepResult.skipped("not asked for (--with-redis)"));
    step(StepName.START_TARGET, () -> ops.startServices(Side.TARGET));
    // Without running units there is no Mastodon to build feeds in or to ask for /health.
    Journal.Entry start = journal.entry(StepName.START_TARGET);
    boolean targetStarted = start.state == Journal.State.DONE;
    String notStarted = "the target's units were not started (" + start.detail + ")";
    step(StepName.FEEDS_BUILD, () -> targetStarted
        ? ops.tootctl(Side.TARGET, List.of("feeds", "build"), log) : StepResult.skipped(notStarted));
    step(StepName.SMOKE_TEST, () -> targetStarted ? ops.smokeTest(domain) : StepResult.skipped(notStarted));
    journal.downtimeEnded(Instant.now());
    journal.outcome("complete");
  }

  /** Whether the target's database already equals the source's by counts; if unknown, says yes (copy again on a resume). */
  private boolean targetMatchesSource() {
    try {
      return ops.databaseAlreadyCopied().isPresent();
    } catch (Exception e) {
      log.accept("  database: cannot compare the target with the source before copying (" + message(e)
          + "); a resume will copy again");
      return true;
    }
  }

  private boolean isDone(StepName step) {
    Journal.State state = journal.entry(step).state;
    return state == Journal.State.DONE || state == Journal.State.SKIPPED;
  }

  /** A step's body. */
  @FunctionalInterface
  interface Body {
    StepResult run() throws Exception;
  }

  private void step(StepName step, Body body) throws MigrationFailedException, IOException {
    if (isDone(step)) {
      log.accept("= " + step.label() + ": already done");
      return;
    }
    log.accept("> " + step.label() + ": " + step.description());
    journal.started(step);
    StepResult result;
    try {
      result = body.run();
    } catch (Exception e) {
      journal.failed(step, message(e));
      throw new MigrationFailedException(step, message(e), e);
    }
    journal.finished(step, result);
    log.accept((result.skipped() ? "- " : "✓ ") + step.label() + (result.detail().isEmpty() ? "" : ": " + result.detail()));
  }

  private static String message(Exception e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
