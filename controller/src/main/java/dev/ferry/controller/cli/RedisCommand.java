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

/** {@code ferry redis copy --from A --to B}. */
@Command(name = "redis", mixinStandardHelpOptions = true, description = "Carry the Redis dump between hosts.",
    subcommands = {RedisCommand.Copy.class})
public final class RedisCommand extends CommandGroup {

  @Command(name = "copy", mixinStandardHelpOptions = true,
      description = {
        "The target pulls dump.rdb from the source and puts it in its layout's place, keeping",
        "the old one aside. Stop Redis on both hosts first (ferry service NAME stop UNIT);",
        "the target's Redis must not be older than the source's."
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
      HostPair.Resolved pair = hosts.resolve(home);
      PairedHost target = pair.target();
      PeerSource ticket = pair.ticket(home.identity(), "redis", Operation.OPERATION_READ_REDIS);
      try (HostClient client = HostClient.connect(target, home.identity())) {
        HostClient.RedisCopyReport r = client.copyRedisFrom(ticket);
        out.println("copied " + r.bytes() + " bytes to " + target.name() + ":" + r.path()
            + " (Redis " + r.sourceVersion() + " -> " + r.targetVersion() + ")");
        if (!r.backup().isEmpty()) {
          out.println("old dump kept as " + r.backup());
        }
        out.flush();
        return ExitCodes.OK;
      } catch (AgentException e) {
        spec.commandLine().getErr().println("ferry: " + e.host() + ": " + e.getMessage());
        return ExitCodes.FAILED;
      }
    }
  }
}
