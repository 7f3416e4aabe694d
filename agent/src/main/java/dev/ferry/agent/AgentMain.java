package dev.ferry.agent;

import dev.ferry.agent.config.AgentConfig;
import dev.ferry.agent.config.ConfigException;
import dev.ferry.agent.state.AgentState;
import dev.ferry.agent.status.StatusCollector;
import dev.ferry.common.identity.Identity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry-agent}: the daemon that runs on each host. */
@Command(
    name = "ferry-agent",
    mixinStandardHelpOptions = true,
    version = "ferry-agent " + Agent.VERSION,
    description = "The ferry agent: serves one host's Mastodon install to a paired ferry controller.",
    subcommands = {AgentMain.Init.class, AgentMain.Run.class, CommandLine.HelpCommand.class})
public final class AgentMain implements Callable<Integer> {
  static final Path DEFAULT_CONFIG = Path.of("/etc/ferry/agent.conf");
  /** The shaded netty's name for {@code io.netty.leakDetection.level}. */
  static final String NETTY_LEAK_DETECTION = "io.grpc.netty.shaded.io.netty.leakDetection.level";

  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  public static void main(String[] args) {
    System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %3$s: %5$s%6$s%n");
    // Netty's leak detector takes a stack trace of one buffer in 128, about 1% of the agents' CPU
    // in a media copy (perf, bench/README.md); it is a debugging aid. A -D on the command line
    // still turns it back on.
    if (System.getProperty(NETTY_LEAK_DETECTION) == null) {
      System.setProperty(NETTY_LEAK_DETECTION, "disabled");
    }
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new AgentMain());
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine.getErr().println("ferry-agent: " + e.getMessage());
          return 1;
        });
    return cli;
  }


  /** Creates the identity if missing and a fresh one-time pairing code. */
  @Command(name = "init", description = "Create this agent's identity (if missing) and print its fingerprint and a one-time pairing code.")
  static final class Init implements Callable<Integer> {
    @Option(names = "--config", description = "Agent config file (default: ${DEFAULT-VALUE}).", defaultValue = "/etc/ferry/agent.conf")
    Path config;

    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      AgentConfig agentConfig;
      try {
        agentConfig = AgentConfig.load(config);
      } catch (ConfigException e) {
        spec.commandLine().getErr().println("ferry-agent: " + e.getMessage());
        return 2;
      }
      AgentState state = new AgentState(agentConfig.stateDir());
      boolean existed = state.hasIdentity();
      Identity identity = state.loadOrCreateIdentity(StatusCollector.hostname());
      String code = state.pairingCodes().create(agentConfig.pairingCodeTtl(), Clock.systemUTC());
      PrintWriter out = spec.commandLine().getOut();
      out.println((existed ? "identity:     " : "new identity: ") + agentConfig.stateDir());
      out.println("fingerprint:  " + identity.fingerprint());
      out.println("pairing code: " + code + "  (valid " + agentConfig.pairingCodeTtl().toMinutes() + " min, works once)");
      out.println();
      out.println("On the controller, run:");
      out.println("  ferry pair NAME " + displayAddress(agentConfig) + " --code " + code);
      out.println("and check that it prints the fingerprint above.");
      return 0;
    }

    private static String displayAddress(AgentConfig config) {
      String host = config.listenHost().contains(":") ? "[" + config.listenHost() + "]" : config.listenHost();
      return host + ":" + config.listenPort();
    }
  }

  /** The daemon. */
  @Command(name = "run", description = "Run the agent (systemd's ExecStart). Serves mutual TLS 1.3 only.")
  static final class Run implements Callable<Integer> {
    private static final Logger logger = Logger.getLogger(Run.class.getName());

    @Option(names = "--config", description = "Agent config file (default: ${DEFAULT-VALUE}).", defaultValue = "/etc/ferry/agent.conf")
    Path config;

    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      AgentConfig agentConfig;
      try {
        agentConfig = AgentConfig.load(config);
      } catch (ConfigException e) {
        spec.commandLine().getErr().println("ferry-agent: " + e.getMessage());
        return 2;
      }
      Agent agent = Agent.start(agentConfig);
      logger.info("layout " + agentConfig.layout().kind().label() + ", media root " + agentConfig.layout().mediaRoot());
      Runtime.getRuntime()
          .addShutdownHook(new Thread(() -> {
            System.err.println("ferry-agent: shutting down");
            agent.close();
          }));
      agent.awaitTermination();
      return 0;
    }
  }
}
