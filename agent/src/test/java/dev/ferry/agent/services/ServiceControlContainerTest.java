package dev.ferry.agent.services;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.testing.ContainerProcessRunner;
import dev.ferry.agent.testing.SystemdContainer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Service control against a real systemd in a container, with stand-in Mastodon units. */
@Timeout(600)
class ServiceControlContainerTest {
  private static final Duration T = Duration.ofSeconds(30);
  private static SystemdContainer box;
  private static ServiceControl control;

  @BeforeAll
  static void boot() throws Exception {
    box = SystemdContainer.builder("svc").boot();
    String longLived = "[Service]\nExecStart=/bin/sleep infinity\n";
    box.writeFile("/etc/systemd/system/mastodon-web.service", longLived, "rw-r--r--");
    box.writeFile("/etc/systemd/system/mastodon-sidekiq.service", longLived, "rw-r--r--");
    box.writeFile("/etc/systemd/system/mastodon-streaming@.service",
        "[Service]\nExecStart=/bin/sleep infinity\n", "rw-r--r--");
    // Ignores SIGTERM (the loop outlives each killed sleep) until systemd SIGKILLs it at 3 s.
    box.writeFile("/etc/systemd/system/mastodon-stubborn.service",
        "[Service]\nExecStart=/bin/bash -c \"trap '' TERM; while :; do sleep 0.2; done\"\nTimeoutStopSec=3\n",
        "rw-r--r--");
    box.writeFile("/etc/systemd/system/mastodon-broken.service",
        "[Service]\nExecStart=/bin/bash -c 'sleep 0.3; exit 3'\n", "rw-r--r--");
    box.check(T, "systemctl", "daemon-reload");
    Systemctl systemctl = new Systemctl(new ContainerProcessRunner(box), box.hostPath("/run/systemd/system"));
    control = new ServiceControl(systemctl, List.of("mastodon-*", "redis-server"),
        List.of("mastodon-web", "mastodon-sidekiq", "mastodon-streaming@4000"));
  }

  @AfterAll
  static void powerOff() throws Exception {
    if (box != null) {
      box.close();
    }
  }

  @Test
  void startsStopsAndReportsRealUnitsInOrderAndIdempotently() throws Exception {
    box.requireRunning();
    List<UnitResult> started = control.start(List.of(), T);
    assertEquals(List.of("mastodon-web", "mastodon-sidekiq", "mastodon-streaming@4000"), names(started));
    started.forEach(r -> assertEquals(UnitOutcome.ACTIVE, r.outcome(), r.toString()));
    assertTrue(box.waitForUnit("mastodon-streaming@4000.service", "active", Duration.ZERO));

    // Starting again changes nothing: same process.
    String pid = box.check(T, "systemctl", "show", "-p", "MainPID", "--value", "mastodon-web").stdout().strip();
    control.start(List.of("mastodon-web"), T).forEach(r -> assertEquals(UnitOutcome.ACTIVE, r.outcome()));
    assertEquals(pid, box.check(T, "systemctl", "show", "-p", "MainPID", "--value", "mastodon-web").stdout().strip());

    List<UnitResult> stopped = control.stop(List.of(), T);
    assertEquals(List.of("mastodon-streaming@4000", "mastodon-sidekiq", "mastodon-web"), names(stopped), "reverse order");
    stopped.forEach(r -> assertEquals(UnitOutcome.INACTIVE, r.outcome(), r.toString()));
    assertEquals("inactive", box.exec(T, "systemctl", "is-active", "mastodon-web").stdout().strip());

    // Stopping stopped units succeeds and reports them inactive.
    control.stop(List.of(), T).forEach(r -> assertEquals(UnitOutcome.INACTIVE, r.outcome()));
    control.status(List.of()).forEach(r -> assertEquals(UnitOutcome.INACTIVE, r.outcome()));

    List<UnitResult> restarted = control.restart(List.of("mastodon-web.service"), T);
    assertEquals(UnitOutcome.ACTIVE, restarted.get(0).outcome());
    assertEquals(UnitOutcome.ACTIVE, control.status(List.of("mastodon-web")).get(0).outcome());
    control.stop(List.of("mastodon-web"), T);
  }

  @Test
  void refusesUnitsOutsideTheAllowlistAndDoesNothing() throws Exception {
    UnitNotAllowedException e =
        assertThrows(UnitNotAllowedException.class, () -> control.stop(List.of("mastodon-web", "postgresql"), T));
    assertTrue(e.getMessage().contains("postgresql"), e.getMessage());
    assertTrue(e.getMessage().contains("mastodon-*"), e.getMessage());
    assertEquals("active", box.exec(T, "systemctl", "is-active", "postgresql").stdout().strip());
    assertThrows(UnitNotAllowedException.class, () -> control.status(List.of("mastodon-web; reboot")));
    assertThrows(UnitNotAllowedException.class, () -> control.start(List.of("--user"), T));
  }

  @Test
  void aUnitIgnoringSigtermIsKilledAtItsStopTimeoutOrReportedTimedOut() throws Exception {
    assertEquals(UnitOutcome.ACTIVE, control.start(List.of("mastodon-stubborn"), T).get(0).outcome());
    // ferry waits 1 s, systemd would wait 3 s before SIGKILL: ferry reports the truth, timed out.
    UnitResult impatient = control.stop(List.of("mastodon-stubborn"), Duration.ofSeconds(1)).get(0);
    assertEquals(UnitOutcome.TIMED_OUT, impatient.outcome(), impatient.toString());
    assertEquals("deactivating", impatient.activeState());
    // Waiting long enough, the unit is down: systemd killed it at TimeoutStopSec and says so.
    long began = System.nanoTime();
    UnitResult patient = control.stop(List.of("mastodon-stubborn"), T).get(0);
    assertTrue(patient.stopped(), patient.toString());
    assertEquals("timeout", patient.result(), patient.toString());
    assertTrue(Duration.ofNanos(System.nanoTime() - began).toMillis() >= 1000, "it was still running");
    // And it starts again cleanly after the recorded failure.
    assertEquals(UnitOutcome.ACTIVE, control.start(List.of("mastodon-stubborn"), T).get(0).outcome());
    control.stop(List.of("mastodon-stubborn"), T);
  }

  @Test
  void aUnitThatFailsToStartIsReportedFailed() throws Exception {
    UnitResult broken = control.start(List.of("mastodon-broken"), T).get(0);
    assertEquals(UnitOutcome.FAILED, broken.outcome(), broken.toString());
    assertEquals("exit-code", broken.result());
    assertEquals(UnitOutcome.FAILED, control.status(List.of("mastodon-broken")).get(0).outcome());
    // Stopping a failed unit is a no-op that still reports it stopped.
    assertTrue(control.stop(List.of("mastodon-broken"), T).get(0).stopped());
  }

  @Test
  void unknownAllowlistedUnitsAreReportedNotFound() throws Exception {
    assertEquals(UnitOutcome.NOT_FOUND, control.start(List.of("mastodon-nope"), T).get(0).outcome());
    assertEquals(UnitOutcome.NOT_FOUND, control.stop(List.of("mastodon-nope"), T).get(0).outcome());
  }

  private static List<String> names(List<UnitResult> results) {
    return results.stream().map(UnitResult::unit).collect(Collectors.toList());
  }
}
