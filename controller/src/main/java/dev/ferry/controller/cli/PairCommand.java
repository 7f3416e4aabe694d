package dev.ferry.controller.cli;

import dev.ferry.common.identity.Fingerprints;
import dev.ferry.common.identity.Identity;
import dev.ferry.controller.client.Pairing;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ferry pair NAME HOST:PORT --code CODE}. */
@Command(
    name = "pair",
    mixinStandardHelpOptions = true,
    description = {
      "Pin an agent's fingerprint and enroll this controller with it.",
      "Run 'ferry-agent init' on the agent's host first: it prints the fingerprint and a one-time code."
    })
public final class PairCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME", description = "Your name for the host, e.g. old or new.")
  String name;

  @Parameters(index = "1", paramLabel = "HOST:PORT", description = "The agent's address, e.g. 100.64.0.1:7443.")
  String address;

  @Option(names = "--code", required = true, paramLabel = "CODE", description = "The one-time pairing code from 'ferry-agent init'.")
  String code;

  @Option(names = "--fingerprint", paramLabel = "SHA256", description = "The fingerprint 'ferry-agent init' printed; if given, pairing fails unless it matches.")
  Optional<String> fingerprint;

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public PairCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
      throw new CommandLine.ParameterException(spec.commandLine(), "NAME must be letters, digits, '.', '_' or '-'");
    }
    if (!address.matches(".+:\\d{1,5}")) {
      throw new CommandLine.ParameterException(spec.commandLine(), "HOST:PORT must end with a port, e.g. 100.64.0.1:7443");
    }
    Optional<String> expected;
    try {
      expected = fingerprint.map(Fingerprints::normalize);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    Identity identity = home.identity();
    Pairing.Result result = Pairing.pair(identity, "ferry-" + localName(), address, code, expected);
    home.saveHost(new PairedHost(name, address, result.agentFingerprint(), result.hostname(), Instant.now().toString()));
    PrintWriter out = spec.commandLine().getOut();
    out.println("paired " + name + " (" + result.hostname() + ") at " + address);
    out.println("agent fingerprint:      " + result.agentFingerprint());
    out.println("controller fingerprint: " + identity.fingerprint());
    out.println("Check the agent fingerprint against what 'ferry-agent init' printed.");
    return ExitCodes.OK;
  }

  private static String localName() {
    String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
    return user;
  }
}
