package dev.ferry.controller.cli;

import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.HostClient;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ferry service NAME stop|start|restart|status [UNIT...]}. */
@Command(
    name = "service",
    mixinStandardHelpOptions = true,
    description = {
      "Stop, start, restart or show the Mastodon units on a paired host, waiting until each",
      "really is inactive or active. Without UNIT: the host layout's Mastodon units. Only units",
      "the agent's allowlist admits (units.allow) are accepted. Exit 1 if any unit did not end",
      "up as asked."
    })
public final class ServiceCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME", description = "The paired host.")
  String name;

  @Parameters(index = "1", paramLabel = "ACTION", description = "stop, start, restart or status.")
  String action;

  @Parameters(index = "2..*", paramLabel = "UNIT", arity = "0..*", description = "Units (default: the layout's Mastodon units).")
  List<String> units = new ArrayList<>();

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120", description = "Wait per unit (1-600, default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public ServiceCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    HostClient.Action verb;
    try {
      verb = HostClient.Action.valueOf(action.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      err.println("ferry: unknown action '" + action + "' (use stop, start, restart or status)");
      return ExitCodes.USAGE;
    }
    if (timeoutSeconds < 1 || timeoutSeconds > 600) {
      err.println("ferry: --timeout must be between 1 and 600 seconds");
      return ExitCodes.USAGE;
    }
    PairedHost host = home.requireHost(name);
    PrintWriter out = spec.commandLine().getOut();
    try (HostClient client = HostClient.connect(host, home.identity())) {
      List<HostClient.UnitReport> reports = client.units(verb, units, Duration.ofSeconds(timeoutSeconds));
      Table table = new Table("UNIT", "STATE", "DETAIL");
      boolean ok = true;
      for (HostClient.UnitReport r : reports) {
        table.row(r.unit(), r.outcome().label(), r.activeState() + "/" + r.subState()
            + (r.result().isEmpty() || r.result().equals("success") ? "" : " (" + r.result() + ")"));
        ok &= switch (verb) {
          case START, RESTART -> r.outcome() == HostClient.Outcome.ACTIVE || r.outcome() == HostClient.Outcome.INACTIVE && r.result().equals("success");
          case STOP -> r.stopped();
          case STATUS -> true;
        };
      }
      table.print(out);
      out.flush();
      return ok ? ExitCodes.OK : ExitCodes.FAILED;
    } catch (AgentException e) {
      err.println("ferry: " + host.name() + ": " + e.getMessage());
      return e.code().equals("PERMISSION_DENIED") || e.code().equals("INVALID_ARGUMENT") ? ExitCodes.USAGE : ExitCodes.FAILED;
    }
  }
}
