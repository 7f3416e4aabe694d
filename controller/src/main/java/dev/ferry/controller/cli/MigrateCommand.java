package dev.ferry.controller.cli;

import dev.ferry.controller.client.MigrationOpsFactory;
import dev.ferry.controller.format.Terminal;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.migration.Journal;
import dev.ferry.controller.migration.Migration;
import dev.ferry.controller.migration.MigrationFailedException;
import dev.ferry.controller.migration.MigrationOps;
import dev.ferry.controller.migration.PreflightRefusedException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry migrate --from A --to B [--yes] [--resume] [--with-redis] [--exclude-cache] [--json]}. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = {
      "Move the instance from one paired host to another, with the least downtime the data allows:",
      "preflight, media pre-sync while the source serves, stop the target, write the secrets,",
      "stop the source (downtime starts), streamed and verified database copy, final media delta,",
      "optional Redis, start the target, feeds build, smoke test (downtime ends), report.",
      "Every step is journaled in $FERRY_HOME/migrations/; --resume continues after a crash or cut link."
    })
public final class MigrateCommand implements Callable<Integer> {
  @CommandLine.Mixin HostPair hosts;

  @Option(names = "--yes", description = "Do not ask before stopping the first unit.")
  boolean yes;

  @Option(names = "--resume", description = "Continue the last unfinished migration between these hosts.")
  boolean resume;

  @Option(names = "--with-redis", description = "Also copy the Redis dump (Sidekiq queues), with Redis stopped on both sides.")
  boolean withRedis;

  @Option(names = "--exclude-cache", description = "Skip public/system/cache (remote media; rebuildable with tootctl, slowly).")
  boolean excludeCache;

  @Option(names = "--json", description = "Print the report as one JSON document on stdout.")
  boolean json;

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public MigrateCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    hosts.resolve(home);
    PrintWriter err = spec.commandLine().getErr();
    Optional<Journal> unfinished = Journal.unfinished(home.migrationsDir(), hosts.from(), hosts.to());
    Journal journal;
    if (resume) {
      if (unfinished.isEmpty()) {
        err.println("ferry: no unfinished migration from " + hosts.from() + " to " + hosts.to() + " to resume");
        return ExitCodes.USAGE;
      }
      journal = unfinished.get();
      err.println("resuming migration " + journal.id());
    } else {
      if (unfinished.isPresent() && unfinished.get().entry(dev.ferry.controller.migration.StepName.PREFLIGHT).state
          == Journal.State.DONE) {
        err.println("ferry: migration " + unfinished.get().id() + " from " + hosts.from() + " to " + hosts.to()
            + " did not finish; continue it with --resume (or roll back with 'ferry rollback')");
        return ExitCodes.USAGE;
      }
      journal = Journal.create(home.migrationsDir(), hosts.from(), hosts.to(), withRedis, excludeCache);
    }
    try (MigrationOps ops = MigrationOpsFactory.open(home, hosts.from(), hosts.to(), journal.id())) {
      new Migration(ops, journal, line -> { err.println(line); err.flush(); }).run(this::confirm);
      ReportPrinter.write(journal, spec.commandLine().getOut(), json);
      return ExitCodes.OK;
    } catch (PreflightRefusedException e) {
      PlanCommand.printChecks(e.checks(), err);
      err.println("ferry: " + e.getMessage());
      ReportPrinter.save(journal);
      return ExitCodes.REFUSED_BY_PREFLIGHT;
    } catch (MigrationFailedException e) {
      ReportPrinter.write(journal, spec.commandLine().getOut(), json);
      err.println("ferry: " + e.getMessage());
      err.println("ferry: fix the cause, then run 'ferry migrate --from " + hosts.from() + " --to " + hosts.to()
          + " --resume'; or 'ferry rollback --from " + hosts.from() + " --to " + hosts.to() + "' to bring the source back");
      return ExitCodes.FAILED;
    }
  }

  private boolean confirm() {
    if (yes) {
      return true;
    }
    PrintWriter err = spec.commandLine().getErr();
    if (!Terminal.canAsk()) {
      err.println("ferry: about to stop Mastodon on " + hosts.to() + " and then " + hosts.from() + "; no terminal to ask: rerun with --yes");
      return false;
    }
    err.print("Stop Mastodon on " + hosts.to() + ", then on " + hosts.from() + " (downtime starts)? [y/N] ");
    err.flush();
    try {
      String answer = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      return answer != null && answer.strip().toLowerCase(java.util.Locale.ROOT).startsWith("y");
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
