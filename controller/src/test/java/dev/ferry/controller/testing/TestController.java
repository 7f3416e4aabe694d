package dev.ferry.controller.testing;

import dev.ferry.agent.testing.TestAgent;
import dev.ferry.common.identity.Identity;
import dev.ferry.controller.FerryCli;
import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/**
 * A controller with its own {@code $FERRY_HOME} in a temp directory, driven through the real
 * command line, for integration tests against {@link TestAgent}s.
 */
public final class TestController {
  private final ControllerHome home;

  public TestController(Path dir) {
    this.home = new ControllerHome(dir);
  }

  public ControllerHome home() {
    return home;
  }

  /** What one CLI invocation printed, and its exit code. */
  public record Run(int exitCode, String out, String err) {}

  /** Runs {@code ferry ARGS...} in-process, as {@code main} does, capturing stdout and stderr. */
  public Run run(String... args) {
    return run(FerryCli.forArguments(home, args), args);
  }

  /** Runs {@code ferry ARGS...} with every subcommand in the tree, as help and typos get it. */
  public Run runWithWholeTree(String... args) {
    return run(FerryCli.commandLine(home), args);
  }

  private static Run run(picocli.CommandLine cli, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** Pairs {@code agent} under {@code name} with a fresh code, through {@code ferry pair}. */
  public PairedHost pair(String name, TestAgent agent) throws IOException {
    Run run = run("pair", name, agent.address(), "--code", agent.newPairingCode());
    if (run.exitCode() != 0) {
      throw new IllegalStateException("ferry pair failed: " + run.err());
    }
    return home.host(name).orElseThrow();
  }

  public Identity identity() throws IOException {
    return home.identity();
  }

  /** A client to a paired host; close it after use. */
  public AgentClient client(String name) throws Exception {
    return AgentClient.connect(home.requireHost(name), home.identity());
  }
}
