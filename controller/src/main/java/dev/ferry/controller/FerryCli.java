package dev.ferry.controller;

import dev.ferry.controller.cli.DbCommand;
import dev.ferry.controller.cli.DemoCommand;
import dev.ferry.controller.cli.ExitCodes;
import dev.ferry.controller.cli.HostsCommand;
import dev.ferry.controller.cli.MediaCommand;
import dev.ferry.controller.cli.MigrateCommand;
import dev.ferry.controller.cli.PairCommand;
import dev.ferry.controller.cli.PlanCommand;
import dev.ferry.controller.cli.RedisCommand;
import dev.ferry.controller.cli.RollbackCommand;
import dev.ferry.controller.cli.SecretsCommand;
import dev.ferry.controller.cli.ServiceCommand;
import dev.ferry.controller.cli.StatusCommand;
import dev.ferry.controller.cli.TootctlCommand;
import dev.ferry.controller.home.ControllerHome;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code ferry}: the controller. Coordinates agents; the data flows between them, not through here. */
@Command(
    name = "ferry",
    mixinStandardHelpOptions = true,
    version = "ferry 0.1.0",
    description = {
      "Move a self-hosted Mastodon server from one host to another.",
      "",
      "Install ferry-agent on both hosts, pair them with this controller, then run",
      "'ferry plan' and 'ferry migrate'. State lives in $FERRY_HOME (default ~/.config/ferry)."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:failed",
      "2:usage error",
      "3:refused by preflight (nothing was changed)"
    })
public final class FerryCli implements Callable<Integer> {
  /** The subcommands, in the order {@code ferry --help} lists them. */
  private static final List<Class<?>> COMMANDS =
      List.of(
          PairCommand.class,
          HostsCommand.class,
          StatusCommand.class,
          ServiceCommand.class,
          SecretsCommand.class,
          TootctlCommand.class,
          RedisCommand.class,
          MediaCommand.class,
          DbCommand.class,
          PlanCommand.class,
          MigrateCommand.class,
          RollbackCommand.class,
          DemoCommand.class,
          CommandLine.HelpCommand.class);

  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  public static void main(String[] args) {
    System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %3$s: %5$s%6$s%n");
    // Netty's buffer pools emit Flight Recorder events; the first one makes the JVM start its
    // JFR machinery (about 0.1 s of a command's start), for a recording a CLI never makes. The
    // property's name is netty's as grpc shades it; it must be set before netty loads.
    System.setProperty("io.grpc.netty.shaded.io.netty.jfr.enabled", "false");
    System.exit(forArguments(ControllerHome.fromEnvironment(), args).execute(args));
  }

  /** The command line with its exit-code mapping, bound to a controller home. */
  public static CommandLine commandLine(ControllerHome home) {
    return commandLine(home, COMMANDS);
  }

  /**
   * The command line for running {@code args}: when they start with a subcommand's name, the tree
   * holds only that subcommand. Picocli reflects over every option of every command it is given,
   * which was a fifth of a quick command's start; anything else (help, a typo, an option) gets
   * the whole tree, so usage and suggestions list every command.
   */
  public static CommandLine forArguments(ControllerHome home, String... args) {
    if (args.length > 0) {
      for (Class<?> command : COMMANDS) {
        if (command != CommandLine.HelpCommand.class && command.getAnnotation(Command.class).name().equals(args[0])) {
          return commandLine(home, List.of(command));
        }
      }
    }
    return commandLine(home, COMMANDS);
  }

  private static CommandLine commandLine(ControllerHome home, List<Class<?>> subcommands) {
    CommandLine cli =
        new CommandLine(
            new FerryCli(),
            new CommandLine.IFactory() {
              @Override
              public <K> K create(Class<K> cls) throws Exception {
                try {
                  return cls.getDeclaredConstructor(ControllerHome.class).newInstance(home);
                } catch (NoSuchMethodException e) {
                  return CommandLine.defaultFactory().create(cls);
                }
              }
            });
    for (Class<?> command : subcommands) {
      cli.addSubcommand(command);
    }
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          String message = e.getMessage() == null ? e.toString() : e.getMessage();
          commandLine.getErr().println("ferry: " + message);
          // Naming a host that was never paired is a usage mistake; everything else a failure.
          return e instanceof ControllerHome.UnknownHostException ? ExitCodes.USAGE : ExitCodes.FAILED;
        });
    return cli;
  }
}
