package dev.ferry.agent.services;

import dev.ferry.agent.layout.UnitNames;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Starts, stops, restarts and reports allowlisted systemd units, waiting until each one really
 * is active or inactive. Every call is idempotent: starting an active unit or stopping an
 * inactive one does nothing and reports the state. Units stop in the reverse of the order they
 * start in. A request naming any unit outside the allowlist is refused whole.
 */
public final class ServiceControl {
  private static final Logger logger = Logger.getLogger(ServiceControl.class.getName());
  private static final List<String> PROPERTIES =
      List.of("LoadState", "ActiveState", "SubState", "Result", "InactiveEnterTimestampMonotonic");
  private static final long POLL_MILLIS = 200;
  public static final Duration MAX_TIMEOUT = Duration.ofMinutes(10);

  private final Systemctl systemctl;
  private final List<String> allow;
  private final List<String> defaultUnits;
  private final Duration settle;

  /**
   * @param allow the unit patterns the agent may act on ({@code AgentConfig.unitsAllow()})
   * @param defaultUnits what an empty request means: the layout's Mastodon units in start order
   * @param settle how long a started unit must stay active to count as started; catches a simple
   *     service whose process dies right after systemd called it active
   */
  public ServiceControl(Systemctl systemctl, List<String> allow, List<String> defaultUnits, Duration settle) {
    this.systemctl = systemctl;
    this.allow = List.copyOf(allow);
    this.defaultUnits = List.copyOf(defaultUnits);
    this.settle = settle;
  }

  public ServiceControl(Systemctl systemctl, List<String> allow, List<String> defaultUnits) {
    this(systemctl, allow, defaultUnits, Duration.ofSeconds(1));
  }

  /**
   * The units a request acts on, in start order: the requested ones (duplicates dropped,
   * ".service" trimmed) or the defaults. Refuses the whole request if any is not allowlisted.
   */
  public List<String> units(List<String> requested) throws UnitNotAllowedException {
    List<String> wanted = requested.isEmpty() ? defaultUnits : requested;
    LinkedHashSet<String> units = new LinkedHashSet<>();
    List<String> refused = new ArrayList<>();
    for (String unit : wanted) {
      if (UnitNames.allowed(unit, allow)) {
        units.add(UnitNames.base(unit));
      } else {
        // Never echo arbitrary bytes back: a name that is not even a unit name is shown quoted and cut.
        refused.add(UnitNames.isValid(unit) ? unit : "'" + unit.replaceAll("[^\\x20-\\x7e]", "?").substring(0, Math.min(unit.length(), 60)) + "'");
      }
    }
    if (!refused.isEmpty()) {
      throw new UnitNotAllowedException(refused, allow);
    }
    return List.copyOf(units);
  }

  public List<UnitResult> status(List<String> requested) throws UnitNotAllowedException, CommandFailedException {
    List<String> units = units(requested);
    requireSystemd();
    List<UnitResult> results = new ArrayList<>();
    for (String unit : units) {
      Map<String, String> p = read(unit);
      results.add(result(unit, p, statusOutcome(p)));
    }
    return results;
  }

  /** Starts each unit in order, waiting up to {@code timeout} per unit. */
  public List<UnitResult> start(List<String> requested, Duration timeout)
      throws UnitNotAllowedException, CommandFailedException {
    List<String> units = units(requested);
    Duration wait = bounded(timeout);
    requireSystemd();
    List<UnitResult> results = new ArrayList<>();
    for (String unit : units) {
      results.add(startOne(unit, wait));
    }
    return results;
  }

  /** Stops each unit in reverse start order, waiting up to {@code timeout} per unit. */
  public List<UnitResult> stop(List<String> requested, Duration timeout)
      throws UnitNotAllowedException, CommandFailedException {
    List<String> units = new ArrayList<>(units(requested));
    Duration wait = bounded(timeout);
    requireSystemd();
    java.util.Collections.reverse(units);
    List<UnitResult> results = new ArrayList<>();
    for (String unit : units) {
      results.add(stopOne(unit, wait));
    }
    return results;
  }

  /**
   * Stops all (reverse order), then starts all (in order). A unit that did not stop is not
   * started again and keeps its stop result.
   */
  public List<UnitResult> restart(List<String> requested, Duration timeout)
      throws UnitNotAllowedException, CommandFailedException {
    List<String> units = units(requested);
    Map<String, UnitResult> stopped = new java.util.HashMap<>();
    for (UnitResult r : stop(units, timeout)) {
      stopped.put(r.unit(), r);
    }
    List<UnitResult> results = new ArrayList<>();
    Duration wait = bounded(timeout);
    for (String unit : units) {
      UnitResult s = stopped.get(unit);
      results.add(s.outcome() == UnitOutcome.TIMED_OUT || s.outcome() == UnitOutcome.NOT_FOUND ? s : startOne(unit, wait));
    }
    return results;
  }

  private UnitResult startOne(String unit, Duration timeout) throws CommandFailedException {
    Map<String, String> p = read(unit);
    if (!exists(p)) {
      return result(unit, p, UnitOutcome.NOT_FOUND);
    }
    if (state(p).equals("active")) {
      return result(unit, p, UnitOutcome.ACTIVE);
    }
    if (state(p).equals("failed")) {
      // Forget the old failure, so a "failed" seen below is this start's own.
      systemctl.queue("reset-failed", unit);
      p = read(unit);
    }
    String inactiveSince = p.get("InactiveEnterTimestampMonotonic");
    ProcessRunner.Result queued = systemctl.queue("start", unit);
    if (!queued.ok()) {
      logger.warning("systemctl start " + unit + " exited " + queued.exitCode() + ": " + queued.stderrTail().strip());
      return result(unit, read(unit), UnitOutcome.FAILED);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      p = read(unit);
      String state = state(p);
      if (state.equals("active")) {
        sleep(settle.toMillis());
        Map<String, String> again = read(unit);
        if (state(again).equals("active")) {
          logger.info("started " + unit);
          return result(unit, again, UnitOutcome.ACTIVE);
        }
        continue;
      }
      if (state.equals("failed")) {
        logger.warning(unit + " failed to start (" + p.get("Result") + ")");
        return result(unit, p, UnitOutcome.FAILED);
      }
      if (state.equals("inactive") && !p.get("InactiveEnterTimestampMonotonic").equals(inactiveSince)) {
        // It ran and ended on its own (a oneshot, or a process that exited 0).
        return result(unit, p, "success".equals(p.get("Result")) ? UnitOutcome.INACTIVE : UnitOutcome.FAILED);
      }
      if (System.nanoTime() > deadline) {
        logger.warning(unit + " did not become active within " + timeout.toSeconds() + " s (" + state + ")");
        return result(unit, p, UnitOutcome.TIMED_OUT);
      }
      sleep(POLL_MILLIS);
    }
  }

  private UnitResult stopOne(String unit, Duration timeout) throws CommandFailedException {
    Map<String, String> p = read(unit);
    if (!exists(p)) {
      return result(unit, p, UnitOutcome.NOT_FOUND);
    }
    if (!state(p).equals("inactive") && !state(p).equals("failed")) {
      ProcessRunner.Result queued = systemctl.queue("stop", unit);
      if (!queued.ok()) {
        throw new CommandFailedException(List.of("systemctl", "stop", unit), queued.exitCode(), queued.stderrTail());
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        p = read(unit);
        if (state(p).equals("inactive") || state(p).equals("failed")) {
          logger.info("stopped " + unit);
          break;
        }
        if (System.nanoTime() > deadline) {
          logger.warning(unit + " did not stop within " + timeout.toSeconds() + " s (" + state(p) + ")");
          return result(unit, p, UnitOutcome.TIMED_OUT);
        }
        sleep(POLL_MILLIS);
      }
    }
    return result(unit, p, state(p).equals("failed") ? UnitOutcome.FAILED : UnitOutcome.INACTIVE);
  }

  private Map<String, String> read(String unit) throws CommandFailedException {
    return systemctl.properties(unit, PROPERTIES);
  }

  private static boolean exists(Map<String, String> p) {
    return !"not-found".equals(p.get("LoadState"));
  }

  private static String state(Map<String, String> p) {
    return p.get("ActiveState");
  }

  private static UnitOutcome statusOutcome(Map<String, String> p) {
    if (!exists(p)) {
      return UnitOutcome.NOT_FOUND;
    }
    return switch (state(p)) {
      case "active" -> UnitOutcome.ACTIVE;
      case "inactive" -> UnitOutcome.INACTIVE;
      case "failed" -> UnitOutcome.FAILED;
      default -> UnitOutcome.CHANGING;
    };
  }

  private static UnitResult result(String unit, Map<String, String> p, UnitOutcome outcome) {
    return new UnitResult(unit, outcome, state(p), p.get("SubState"), p.get("Result"));
  }

  private void requireSystemd() {
    if (!systemctl.isRunning()) {
      throw new IllegalStateException("systemd is not running on this host; ferry cannot control its services");
    }
  }

  private static Duration bounded(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw new IllegalArgumentException("a service timeout must be between 1 s and " + MAX_TIMEOUT.toMinutes() + " min");
    }
    return timeout;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a unit", e);
    }
  }
}
