package dev.ferry.controller.cli;

import dev.ferry.common.identity.Identity;
import dev.ferry.controller.client.TicketIssuer;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import java.time.Clock;
import java.util.Set;
import java.util.UUID;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code --from SOURCE --to TARGET}: the two hosts of every command that involves both. */
public final class HostPair {
  @Option(names = "--from", required = true, paramLabel = "SOURCE", description = "The paired host to move from (the source).")
  private String from;

  @Option(names = "--to", required = true, paramLabel = "TARGET", description = "The paired host to move to (the target).")
  private String to;

  @Spec(Spec.Target.MIXEE)
  private CommandLine.Model.CommandSpec command;

  public String from() {
    return from;
  }

  public String to() {
    return to;
  }

  /** Both hosts as paired; a usage error (exit 2) if they are one host or either is unknown. */
  public Resolved resolve(ControllerHome home) throws java.io.IOException, ControllerHome.UnknownHostException {
    if (from.equals(to)) {
      throw new CommandLine.ParameterException(command.commandLine(), "--from and --to must name two different hosts");
    }
    return new Resolved(home.requireHost(from), home.requireHost(to));
  }

  /** The source and target as the controller paired them. */
  public record Resolved(PairedHost source, PairedHost target) {
    /**
     * A fresh single-use ticket for the target to pull {@code operation} from the source, for a
     * command run on its own ({@code purpose} names it in the agents' logs).
     */
    public PeerSource ticket(Identity controller, String purpose, Operation operation) {
      return new TicketIssuer(controller, Clock.systemUTC())
          .issue(purpose + "-" + UUID.randomUUID(), source, target, Set.of(operation));
    }
  }
}
