package dev.ferry.controller.client;

import dev.ferry.common.identity.Identity;
import dev.ferry.controller.format.Terminal;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.controller.migration.MigrationOps;
import java.time.Clock;

/** Opens the gRPC-backed {@link MigrationOps} between two paired hosts. */
public final class MigrationOpsFactory {
  private MigrationOpsFactory() {}

  public static MigrationOps open(ControllerHome home, String from, String to, String migrationId) throws Exception {
    Identity identity = home.identity();
    PairedHost source = home.requireHost(from);
    PairedHost target = home.requireHost(to);
    return new AgentMigrationOps(
        AgentClient.connect(source, identity),
        AgentClient.connect(target, identity),
        HostClient.connect(source, identity),
        HostClient.connect(target, identity),
        new TicketIssuer(identity, Clock.systemUTC()),
        migrationId,
        // Progress lines are for a person watching; a log or a pipe gets the step lines only.
        Terminal.stderrIsTerminal());
  }
}
