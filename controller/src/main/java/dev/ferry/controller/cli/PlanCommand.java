package dev.ferry.controller.cli;

import dev.ferry.controller.client.MigrationOpsFactory;
import dev.ferry.controller.format.Sizes;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.migration.Check;
import dev.ferry.controller.migration.HostFacts;
import dev.ferry.controller.migration.MigrationOps;
import dev.ferry.controller.migration.Preflight;
import dev.ferry.controller.migration.Side;
import dev.ferry.controller.migration.StepName;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry plan --from A --to B}: every preflight check and the ordered steps. Changes nothing. */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = {
      "Run every preflight check on both hosts and print the ordered steps with what each will",
      "move and an estimate of the downtime. Changes nothing. Exits 3 if a check fails."
    })
public final class PlanCommand implements Callable<Integer> {
  /** Rough rates for the estimate: a streamed restore and a media delta over a tailnet. */
  static final double RESTORE_BYTES_PER_SECOND = 40e6;

  static final double DELTA_FRACTION = 0.02;
  static final double MEDIA_BYTES_PER_SECOND = 80e6;

  @CommandLine.Mixin HostPair hosts;

  @Option(names = "--exclude-cache", description = "Plan without public/system/cache.")
  boolean excludeCache;

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public PlanCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    hosts.resolve(home);
    PrintWriter out = spec.commandLine().getOut();
    HostFacts source;
    HostFacts target;
    List<Check> checks = new ArrayList<>();
    try (MigrationOps ops = MigrationOpsFactory.open(home, hosts.from(), hosts.to(), "plan")) {
      source = ops.facts(Side.SOURCE);
      target = ops.facts(Side.TARGET);
      checks.addAll(Preflight.run(source, target, excludeCache));
      checks.addAll(ops.extraChecks());
    }
    out.println("Preflight (" + hosts.from() + " -> " + hosts.to() + "):");
    printChecks(checks, out);
    out.println();
    out.println("Steps:");
    long mediaBytes = Math.max(0, source.mediaBytes() - target.mediaBytes());
    int n = 1;
    for (StepName step : StepName.values()) {
      String what = switch (step) {
        case PRESYNC_MEDIA -> "up to " + Sizes.count(source.mediaFiles()) + " files, " + Sizes.bytes(mediaBytes);
        case COPY_DATABASE -> source.dbName() + " (" + Sizes.bytes(source.dbSizeBytes()) + ") -> " + target.dbName();
        case FINAL_MEDIA -> "what changed since the pre-sync";
        default -> "";
      };
      out.printf(Locale.ROOT, "%2d. %-15s %s%s%s%n", n++, step.label(), step.description(),
          what.isEmpty() ? "" : " [" + what + "]", step.duringDowntime() ? " (downtime)" : "");
    }
    double seconds = Math.max(0, source.dbSizeBytes()) / RESTORE_BYTES_PER_SECOND
        + mediaBytes * DELTA_FRACTION / MEDIA_BYTES_PER_SECOND + 30;
    out.printf(Locale.ROOT, "%nEstimated downtime: about %s (database restore, a small media delta, restarts)%n",
        seconds < 120 ? Math.round(seconds) + " s" : Math.round(seconds / 60) + " min");
    out.flush();
    return Preflight.passed(checks) ? ExitCodes.OK : ExitCodes.REFUSED_BY_PREFLIGHT;
  }

  static void printChecks(List<Check> checks, PrintWriter out) {
    for (Check check : checks) {
      String mark = !check.passed() ? "FAIL" : check.warning() ? "warn" : " ok ";
      out.println("  [" + mark + "] " + check.name() + ": " + check.detail());
      if (!check.fix().isEmpty()) {
        out.println("         -> " + check.fix());
      }
    }
    out.flush();
  }
}
