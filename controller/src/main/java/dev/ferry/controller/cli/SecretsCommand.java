package dev.ferry.controller.cli;

import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.HostClient;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code ferry secrets copy --from A --to B}. */
@Command(
    name = "secrets",
    mixinStandardHelpOptions = true,
    description = "Carry Mastodon's secret settings between hosts.",
    subcommands = {SecretsCommand.Copy.class})
public final class SecretsCommand extends CommandGroup {

  @Command(
      name = "copy",
      mixinStandardHelpOptions = true,
      description = {
        "The target pulls SECRET_KEY_BASE, OTP_SECRET, VAPID_* and ACTIVE_RECORD_ENCRYPTION_*",
        "straight from the source (never through this controller) and writes them in its own",
        "layout's form, backing up what it replaces. Only key names are printed. Also prints the",
        "non-secret settings as a services.mastodon snippet for the NixOS config."
      })
  public static final class Copy implements Callable<Integer> {
    @CommandLine.Mixin HostPair hosts;

    @Spec CommandLine.Model.CommandSpec spec;

    private final ControllerHome home;

    public Copy(ControllerHome home) {
      this.home = home;
    }

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      HostPair.Resolved pair = hosts.resolve(home);
      PairedHost target = pair.target();
      PeerSource ticket = pair.ticket(home.identity(), "secrets", Operation.OPERATION_READ_SECRETS);
      try (HostClient client = HostClient.connect(target, home.identity())) {
        HostClient.SecretsCopyReport report = client.copySecretsFrom(ticket);
        Table table = new Table("KEY", "ACTION", "WHERE");
        report.keys().forEach(k -> table.row(k.key(), k.action(), k.detail()));
        table.print(out);
        out.println("mastodon-init-dirs: " + report.initDirs());
        if (!report.missingRequired().isEmpty()) {
          out.println("warning: the source has no " + String.join(", ", report.missingRequired()));
        }
        if (!report.nixSnippet().isEmpty()) {
          out.println();
          out.println("# Add to the NixOS configuration of " + target.name() + " (ferry cannot edit it):");
          out.print(report.nixSnippet());
        }
        out.flush();
        return report.missingRequired().isEmpty() ? ExitCodes.OK : ExitCodes.FAILED;
      } catch (AgentException e) {
        err.println("ferry: " + e.host() + ": " + e.getMessage());
        return ExitCodes.FAILED;
      }
    }
  }
}
