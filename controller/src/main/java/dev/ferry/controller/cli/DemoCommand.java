package dev.ferry.controller.cli;

import dev.ferry.controller.FerryCli;
import dev.ferry.controller.demo.Demo;
import dev.ferry.controller.demo.DemoCheck;
import dev.ferry.controller.home.ControllerHome;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry demo}: a full migration between two local agents on a generated sample instance. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Run a real migration on this machine, with nothing to set up: generate a small Ubuntu-shaped",
      "Mastodon source (PostgreSQL cluster, media, .env.production) and an empty NixOS-shaped target,",
      "start two agents on loopback with mutual TLS, pair them, run 'ferry migrate', print the report,",
      "check the result, and clean up. Needs root and a PostgreSQL server package. Touches no unit:",
      "where systemd would be used, the steps say they are skipped and why."
    })
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--dir", paramLabel = "DIR", description = "Work directory (default: a new one under /tmp).")
  Path dir;

  @Option(names = "--accounts", defaultValue = "300", description = "Sample accounts (default: ${DEFAULT-VALUE}).")
  int accounts;

  @Option(names = "--statuses", defaultValue = "5000", description = "Sample statuses (default: ${DEFAULT-VALUE}).")
  int statuses;

  @Option(names = "--keep", description = "Keep the work directory (clusters stopped) to look around afterwards.")
  boolean keep;

  @Option(names = "--json", description = "Print the migration report as JSON on stdout.")
  boolean json;

  @Spec CommandLine.Model.CommandSpec spec;

  public DemoCommand(ControllerHome ignored) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    Path work = dir != null ? dir : Files.createTempDirectory("ferry-demo-");
    Demo demo = new Demo(work, err);
    try {
      ControllerHome home = demo.setUp(accounts, statuses);
      CommandLine migrate = FerryCli.commandLine(home);
      migrate.setOut(spec.commandLine().getOut());
      migrate.setErr(err);
      List<String> args = new ArrayList<>(List.of("migrate", "--from", "source", "--to", "target", "--yes"));
      if (json) {
        args.add("--json");
      }
      int code = migrate.execute(args.toArray(String[]::new));
      if (code != ExitCodes.OK) {
        err.println("demo: the migration did not complete (exit " + code + ")");
        return code;
      }
      DemoCheck.Result check = demo.verify();
      err.println(check.summary());
      return check.passed() ? ExitCodes.OK : ExitCodes.FAILED;
    } finally {
      demo.close(keep, DemoCommand::delete);
      err.println(keep ? "demo: kept " + work : "demo: cleaned up " + work);
    }
  }

  private static Boolean delete(Path path) {
    try {
      Process p = new ProcessBuilder("rm", "-rf", "--one-file-system", path.toString()).inheritIO().start();
      return p.waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
