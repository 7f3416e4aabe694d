package dev.ferry.controller.cli;

import dev.ferry.common.identity.Fingerprints;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code ferry hosts}. */
@Command(name = "hosts", mixinStandardHelpOptions = true, description = "List the paired agents.")
public final class HostsCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public HostsCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    List<PairedHost> hosts = home.hosts();
    if (hosts.isEmpty()) {
      spec.commandLine().getErr().println("no paired hosts yet: run 'ferry pair NAME HOST:PORT --code CODE'");
      return ExitCodes.OK;
    }
    Table table = new Table("NAME", "ADDRESS", "HOSTNAME", "FINGERPRINT", "PAIRED");
    for (PairedHost host : hosts) {
      table.row(host.name(), host.address(), host.hostname(), Fingerprints.shortForm(host.fingerprint()) + "…", host.pairedAt());
    }
    table.print(spec.commandLine().getOut());
    return ExitCodes.OK;
  }
}
