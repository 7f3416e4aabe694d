package dev.ferry.agent.services;

import dev.ferry.agent.layout.UnitNames;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads unit states through {@code systemctl}, with argument lists only. */
public class Systemctl {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final ProcessRunner runner;
  private final Path runSystemd;

  public Systemctl(ProcessRunner runner) {
    this(runner, Path.of("/run/systemd/system"));
  }

  /** @param runSystemd where sd_booted looks; tests point it into a container */
  public Systemctl(ProcessRunner runner, Path runSystemd) {
    this.runner = runner;
    this.runSystemd = runSystemd;
  }

  /** sd_booted(3): systemd is PID 1 exactly when this directory exists. */
  public boolean isRunning() {
    return Files.isDirectory(runSystemd);
  }

  /** The states of the named units; a unit systemd does not know comes back as not-found. */
  public List<UnitState> show(List<String> units) throws CommandFailedException {
    List<UnitState> states = new ArrayList<>();
    if (units.isEmpty()) {
      return states;
    }
    List<String> argv = new ArrayList<>(List.of("systemctl", "show", "--property=Id,ActiveState,SubState,LoadState", "--"));
    for (String unit : units) {
      if (!UnitNames.isValid(unit)) {
        throw new IllegalArgumentException("not a unit name: " + unit);
      }
      argv.add(unit);
    }
    ProcessRunner.Result result = runner.check(argv, Map.of(), TIMEOUT);
    // Blocks are separated by blank lines, in the order asked.
    String[] blocks = result.stdout().strip().split("\\n\\s*\\n");
    for (int i = 0; i < units.size() && i < blocks.length; i++) {
      String id = units.get(i);
      String active = "";
      String sub = "";
      String load = "";
      for (String line : blocks[i].split("\\n")) {
        int eq = line.indexOf('=');
        if (eq < 0) {
          continue;
        }
        String value = line.substring(eq + 1).strip();
        switch (line.substring(0, eq)) {
          case "ActiveState" -> active = value;
          case "SubState" -> sub = value;
          case "LoadState" -> load = value;
          default -> { }
        }
      }
      states.add(new UnitState(id, active, sub, load));
    }
    return states;
  }

  /**
   * The named properties of one unit ({@code systemctl show --property=A,B -- unit}); a property
   * systemd does not report maps to "".
   */
  public Map<String, String> properties(String unit, List<String> names) throws CommandFailedException {
    if (!UnitNames.isValid(unit)) {
      throw new IllegalArgumentException("not a unit name: " + unit);
    }
    ProcessRunner.Result result =
        runner.check(
            List.of("systemctl", "show", "--property=" + String.join(",", names), "--", unit), Map.of(), TIMEOUT);
    Map<String, String> values = new java.util.LinkedHashMap<>();
    names.forEach(name -> values.put(name, ""));
    for (String line : result.stdout().split("\\n")) {
      int eq = line.indexOf('=');
      if (eq > 0 && values.containsKey(line.substring(0, eq))) {
        values.put(line.substring(0, eq), line.substring(eq + 1).strip());
      }
    }
    return values;
  }

  /**
   * Runs {@code systemctl VERB --no-block -- unit}: queues the job and returns at once, so the
   * caller's own bounded wait decides how long ferry waits, not the unit's timeouts.
   */
  public ProcessRunner.Result queue(String verb, String unit) throws CommandFailedException {
    if (!List.of("start", "stop", "restart", "reset-failed").contains(verb)) {
      throw new IllegalArgumentException("not a queued verb: " + verb);
    }
    if (!UnitNames.isValid(unit)) {
      throw new IllegalArgumentException("not a unit name: " + unit);
    }
    List<String> argv =
        verb.equals("reset-failed")
            ? List.of("systemctl", verb, "--", unit)
            : List.of("systemctl", verb, "--no-block", "--", unit);
    return runner.run(argv, Map.of(), TIMEOUT);
  }

  /** Units systemd knows (loaded or with a unit file) whose names start with {@code prefix}. */
  public Set<String> list(String prefix) throws CommandFailedException {
    if (!UnitNames.isValid(prefix)) {
      throw new IllegalArgumentException("not a unit prefix: " + prefix);
    }
    Set<String> names = new LinkedHashSet<>();
    ProcessRunner.Result loaded =
        runner.check(
            List.of("systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", "--", prefix + "*"),
            Map.of(), TIMEOUT);
    for (String line : loaded.stdout().split("\\n")) {
      String[] fields = line.strip().split("\\s+");
      if (fields.length > 0 && fields[0].endsWith(".service")) {
        names.add(UnitNames.base(fields[0]));
      }
    }
    ProcessRunner.Result files =
        runner.check(
            List.of("systemctl", "list-unit-files", "--plain", "--no-legend", "--no-pager", "--", prefix + "*"),
            Map.of(), TIMEOUT);
    for (String line : files.stdout().split("\\n")) {
      String[] fields = line.strip().split("\\s+");
      // Templates (name@.service) cannot be started as they are; their instances are listed above.
      if (fields.length > 0 && fields[0].endsWith(".service") && !fields[0].endsWith("@.service")) {
        names.add(UnitNames.base(fields[0]));
      }
    }
    return names;
  }

  /** The unit's Environment= settings (systemd's view, after drop-ins). */
  public Map<String, String> environment(String unit) throws CommandFailedException {
    if (!UnitNames.isValid(unit)) {
      throw new IllegalArgumentException("not a unit name: " + unit);
    }
    ProcessRunner.Result result =
        runner.check(
            List.of("systemctl", "show", "--property=Environment", "--value", "--", unit), Map.of(), TIMEOUT);
    Map<String, String> environment = new java.util.LinkedHashMap<>();
    for (String pair : result.stdout().strip().split("\\s+")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        environment.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
    }
    return environment;
  }
}
