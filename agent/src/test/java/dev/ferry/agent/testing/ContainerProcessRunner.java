package dev.ferry.agent.testing;

import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@link ProcessRunner} whose commands run inside a {@link SystemdContainer} ({@code nsenter -t
 * PID -a} before every argv), so agent code under test in this JVM talks to the container's real
 * systemd, users and files.
 */
public final class ContainerProcessRunner extends ProcessRunner {
  private final SystemdContainer container;

  public ContainerProcessRunner(SystemdContainer container) {
    this.container = container;
  }

  // run() and check() go through start(), so prefixing there covers every command.
  @Override
  public Process start(List<String> argv, Map<String, String> env) throws CommandFailedException {
    return super.start(inside(argv), env);
  }

  @Override
  public String currentUser() {
    return "root";
  }

  private List<String> inside(List<String> argv) {
    List<String> full = new ArrayList<>(container.execPrefix());
    full.addAll(argv);
    return full;
  }
}
