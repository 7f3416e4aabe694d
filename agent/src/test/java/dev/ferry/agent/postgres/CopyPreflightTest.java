package dev.ferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CopyPreflightTest {
  private static final long GIB = 1L << 30;

  /** A healthy host: PostgreSQL 15 everywhere, a 10 GiB database, 100 GiB free, systemd, nothing active. */
  private static Facts host() {
    return new Facts();
  }

  /** A mutable builder for the test's facts. */
  private static final class Facts {
    String server = "15.8";
    String dump = "15.8";
    String restore = "15.8";
    boolean exists = true;
    long size = 10 * GIB;
    boolean roleExists = true;
    boolean osUser = true;
    List<String> grantees = List.of();
    long free = 100 * GIB;
    long spoolFree = 100 * GIB;
    boolean sameFs = true;
    boolean systemd = true;
    List<String> active = List.of();
    List<String> errors = List.of();

    DatabaseFacts build() {
      return new DatabaseFacts("mastodon", "mastodon", "postgres", "/var/lib/postgresql/15/main", server, dump, restore, exists,
          size, "UTF8", roleExists, osUser, grantees, 120, free, spoolFree, sameFs, false, "mastodon_ferry_staging", systemd,
          active, errors);
    }
  }

  private static List<Problem> check(Facts source, Facts target, CopyOptions options) {
    return CopyPreflight.check(source.build(), target.build(), Set.of(), options);
  }

  private static List<String> codes(List<Problem> problems) {
    return problems.stream().map(Problem::code).toList();
  }

  @Test
  void healthyHostsPass() {
    List<Problem> problems = check(host(), host(), new CopyOptions(1, false));
    assertTrue(problems.isEmpty(), problems.toString());
  }

  @Test
  void olderPgRestoreOnTheTargetIsRefusedWithWhatToInstall() {
    Facts target = host();
    target.restore = "14.10";
    Facts source = host();
    source.dump = "16.2";
    source.server = "16.2";
    List<Problem> problems = check(source, target, new CopyOptions(1, true));
    Problem skew = problems.stream().filter(p -> p.code().equals("version_skew_restore")).findFirst().orElseThrow();
    assertEquals(Problem.Severity.REFUSAL, skew.severity());
    assertTrue(skew.message().contains("Install PostgreSQL 16 or newer client tools on the target"), skew.message());
    assertTrue(skew.blocks(true), "--yes does not override a version skew");
  }

  @Test
  void pgDumpOlderThanTheSourceServerIsRefused() {
    Facts source = host();
    source.dump = "14.1";
    Problem p = check(source, host(), new CopyOptions(1, false)).get(0);
    assertEquals("version_skew_dump", p.code());
    assertTrue(p.message().contains("apt-get install postgresql-client-15"), p.message());
  }

  @Test
  void newerToolsThanTheServersAreFine() {
    Facts source = host();
    source.dump = "16.1";
    Facts target = host();
    target.restore = "16.1";
    assertTrue(check(source, target, new CopyOptions(1, false)).isEmpty());
  }

  @Test
  void notEnoughDiskIsRefusedAndTheSpoolCountsForJobs() {
    Facts target = host();
    target.free = 10 * GIB;
    assertEquals(List.of("disk_space"), codes(check(host(), target, new CopyOptions(1, false))));

    Facts roomy = host();
    roomy.free = 12 * GIB;
    assertTrue(check(host(), roomy, new CopyOptions(1, false)).isEmpty());
    // With --jobs the archive is spooled on the same filesystem too.
    assertEquals(List.of("disk_space"), codes(check(host(), roomy, new CopyOptions(4, false))));
  }

  @Test
  void missingRolesAreRefused() {
    Facts source = host();
    source.roleExists = false;
    source.osUser = false;
    source.grantees = List.of("reporting", "mastodon");
    Facts target = host();
    target.roleExists = false;
    List<Problem> problems = check(source, target, new CopyOptions(1, true));
    assertEquals(List.of("missing_role", "missing_os_user", "missing_role", "missing_grantee_roles"), codes(problems));
    assertTrue(problems.get(3).message().contains("role(s) reporting"), problems.get(3).message());
    assertFalse(problems.get(3).message().contains("mastodon,"), "the source's own role maps to the target's");
  }

  @Test
  void granteesPresentOnTheTargetPass() {
    Facts source = host();
    source.grantees = List.of("reporting");
    assertTrue(CopyPreflight.check(source.build(), host().build(), Set.of("reporting"), new CopyOptions(1, false)).isEmpty());
  }

  @Test
  void activeSourceUnitsNeedConfirmationAndUncheckedOnesAreSaid() {
    Facts source = host();
    source.active = List.of("mastodon-web", "mastodon-sidekiq");
    List<Problem> problems = check(source, host(), new CopyOptions(1, false));
    assertEquals(List.of("units_active"), codes(problems));
    assertTrue(problems.get(0).blocks(false));
    assertFalse(problems.get(0).blocks(true), "--yes lets it through");

    Facts noSystemd = host();
    noSystemd.systemd = false;
    List<Problem> unchecked = check(noSystemd, host(), new CopyOptions(1, false));
    assertEquals(List.of("units_unchecked"), codes(unchecked));
    assertTrue(unchecked.get(0).message().contains("could not check"), unchecked.get(0).message());
    assertFalse(unchecked.get(0).blocks(false));
  }

  @Test
  void anUnreachableServerIsRefusedWithItsReason() {
    Facts target = host();
    target.errors = List.of("cannot query the PostgreSQL server at /run/postgresql as postgres: no such file");
    target.server = "";
    assertEquals(List.of("target_unreadable"), codes(check(host(), target, new CopyOptions(1, false))));
  }

  @Test
  void jobsAreBounded() {
    assertEquals(1, new CopyOptions(0, false).jobs());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new CopyOptions(65, false));
  }
}
