package dev.ferry.controller.cli;

import dev.ferry.controller.client.MigrationOpsFactory;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.migration.Journal;
import dev.ferry.controller.migration.MigrationOps;
import dev.ferry.controller.migration.Side;
import dev.ferry.controller.migration.StepResult;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code ferry rollback --from A --to B}: stop the target, start the source again. */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    description = {
      "Abandon a cutover: stop Mastodon on the target and start it again on the source.",
      "Nothing is deleted on either side; the report says what state each side is in."
    })
public final class RollbackCommand implements Callable<Integer> {
  @CommandLine.Mixin HostPair hosts;

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public RollbackCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    hosts.resolve(home);
    PrintWriter out = spec.commandLine().getOut();
    Optional<Journal> unfinished = Journal.unfinished(home.migrationsDir(), hosts.from(), hosts.to());
    try (MigrationOps ops = MigrationOpsFactory.open(home, hosts.from(), hosts.to(), "rollback")) {
      StepResult stopped = ops.stopServices(Side.TARGET);
      out.println("target " + hosts.to() + ": " + (stopped.skipped() ? "not stopped: " : "stopped: ") + stopped.detail());
      StepResult started = ops.startServices(Side.SOURCE);
      out.println("source " + hosts.from() + ": " + (started.skipped() ? "not started: " : "started: ") + started.detail());
    }
    if (unfinished.isPresent()) {
      unfinished.get().outcome("rolled back");
      out.println("migration " + unfinished.get().id() + " marked rolled back; the target keeps what was copied"
          + " (its old database, if any, is still there under its _before_ferry_ name)");
    }
    out.flush();
    return ExitCodes.OK;
  }
}
