package dev.ferry.controller.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The step runner's order, journal and resume logic, over a recording fake. */
class MigrationTest {
  @TempDir Path dir;

  /** Records calls; fails once at a chosen call. */
  static class FakeOps implements MigrationOps {
    final List<String> calls = new ArrayList<>();
    HostFacts source = facts("old", "example.social", 15, 15, 15, "4.3.2");
    HostFacts target = facts("new", "example.social", 15, 16, 16, "4.3.2");
    String failAt = "";
    /** Whether the target already holds the source's data (an interrupted copy had swapped it in). */
    boolean alreadyCopied;
    int copyChecks;

    static HostFacts facts(String name, String domain, int server, int dump, int restore, String version) {
      return facts(name, domain, server, dump, restore, version, "1");
    }

    static HostFacts facts(String name, String domain, int server, int dump, int restore, String version, String hardlinks) {
      return new HostFacts(name, "ubuntu", domain, domain, version, server, dump, restore, "mastodon", 1_000_000,
          10, 1_000_000, 10L << 30, 10L << 30, true,
          List.of(new HostFacts.Unit("mastodon-web", "loaded", "active")),
          Set.of("SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"), hardlinks);
    }

    private StepResult call(String name) {
      calls.add(name);
      if (name.equals(failAt)) {
        failAt = "";
        throw new IllegalStateException("link cut during " + name);
      }
      return StepResult.done(1, 100, name);
    }

    @Override public HostFacts facts(Side side) { return side == Side.SOURCE ? source : target; }
    @Override public StepResult syncMedia(boolean excludeCache, Consumer<String> progress) { return call("media"); }
    @Override public StepResult stopServices(Side side) { return call("stop " + side.label()); }
    @Override public StepResult startServices(Side side) { return call("start " + side.label()); }
    @Override public StepResult copySecrets() { return call("secrets"); }
    @Override public StepResult copyDatabase(Consumer<String> progress) { return call("database"); }
    @Override public StepResult copyRedis() { return call("redis"); }
    @Override public java.util.Optional<StepResult> databaseAlreadyCopied() {
      copyChecks++;
      return alreadyCopied ? java.util.Optional.of(StepResult.done(1, 0, "already copied")) : java.util.Optional.empty();
    }
    @Override public StepResult tootctl(Side side, List<String> args, Consumer<String> out) { return call("tootctl " + String.join(" ", args)); }
    @Override public StepResult smokeTest(String domain) { return call("smoke " + domain); }
  }

  @Test
  void runsTheStepsInTheDesignedOrder() throws Exception {
    FakeOps ops = new FakeOps();
    Journal journal = Journal.create(dir, "old", "new", false, false);
    new Migration(ops, journal, line -> { }).run(() -> true);
    assertEquals(List.of("media", "stop target", "secrets", "stop source", "database", "media", "start target",
        "tootctl feeds build", "smoke example.social"), ops.calls);
    assertEquals("complete", journal.outcome());
    assertEquals(Journal.State.SKIPPED, journal.entry(StepName.REDIS).state);
    assertTrue(new Report(journal).downtime().isPresent());
    assertTrue(new Report(journal).svg().contains("downtime"));
  }

  @Test
  void resumeRedoesOnlyTheInterruptedStep() throws Exception {
    FakeOps ops = new FakeOps();
    ops.failAt = "database";
    Journal journal = Journal.create(dir, "old", "new", true, false);
    MigrationFailedException e = assertThrows(MigrationFailedException.class,
        () -> new Migration(ops, journal, line -> { }).run(() -> true));
    assertEquals(StepName.COPY_DATABASE, e.step());
    assertEquals(Journal.State.FAILED, journal.entry(StepName.COPY_DATABASE).state);
    // A new controller process finds the journal on disk and continues.
    Journal reloaded = Journal.unfinished(dir, "old", "new").orElseThrow();
    ops.calls.clear();
    new Migration(ops, reloaded, line -> { }).run(() -> { throw new AssertionError("already confirmed"); });
    assertEquals(List.of("database", "media", "redis", "start target", "tootctl feeds build", "smoke example.social"), ops.calls);
    assertFalse(Journal.unfinished(dir, "old", "new").isPresent());
  }

  /**
   * Regression (found by the fault matrix): the controller died after the target had swapped its
   * copy in but before the journal said so; the resume copied again, set the first copy aside as
   * a second "old" database and named that one in the report.
   */
  @Test
  void resumeDoesNotCopyTheDatabaseAgainWhenTheInterruptedAttemptHadLanded() throws Exception {
    FakeOps ops = new FakeOps();
    ops.failAt = "database";
    Journal journal = Journal.create(dir, "old", "new", false, false);
    assertThrows(MigrationFailedException.class, () -> new Migration(ops, journal, line -> { }).run(() -> true));
    assertEquals(1, ops.copyChecks, "asked once before the first attempt (the target differed then)");
    ops.alreadyCopied = true;
    ops.calls.clear();
    new Migration(ops, Journal.unfinished(dir, "old", "new").orElseThrow(), line -> { }).run(() -> true);
    assertEquals(2, ops.copyChecks);
    assertFalse(ops.calls.contains("database"), ops.calls.toString());
    assertEquals("already copied", Journal.load(journal.dir()).entry(StepName.COPY_DATABASE).detail);
  }

  @Test
  void resumeCopiesTheDatabaseWhenTheInterruptedAttemptHadNotLanded() throws Exception {
    FakeOps ops = new FakeOps();
    ops.failAt = "database";
    Journal journal = Journal.create(dir, "old", "new", false, false);
    assertThrows(MigrationFailedException.class, () -> new Migration(ops, journal, line -> { }).run(() -> true));
    ops.calls.clear();
    new Migration(ops, Journal.unfinished(dir, "old", "new").orElseThrow(), line -> { }).run(() -> true);
    assertEquals(2, ops.copyChecks);
    assertEquals("database", ops.calls.get(0));
  }

  /**
   * Regression (found by ServiceFaultsE2eTest): after a rollback the target still held the
   * previous migration's copy; the source then only saw UPDATEs, so its counts still equalled the
   * target's. A cut link failed the copy before its swap, and the resume took the equal counts for
   * a landed copy: the target kept the old rows and the source's edits were lost.
   */
  @Test
  void resumeCopiesAgainWhenTheTargetAlreadyMatchedBeforeTheFirstAttempt() throws Exception {
    FakeOps ops = new FakeOps();
    ops.alreadyCopied = true;
    ops.failAt = "database";
    Journal journal = Journal.create(dir, "old", "new", false, false);
    assertThrows(MigrationFailedException.class, () -> new Migration(ops, journal, line -> { }).run(() -> true));
    assertTrue(ops.calls.contains("database"), "a first attempt always copies: " + ops.calls);
    assertTrue(Journal.load(journal.dir()).targetMatchedBeforeCopy());
    ops.calls.clear();
    new Migration(ops, Journal.unfinished(dir, "old", "new").orElseThrow(), line -> { }).run(() -> true);
    assertEquals("database", ops.calls.get(0), "equal counts prove nothing here: " + ops.calls);
    assertEquals(1, ops.copyChecks, "not asked again on the resume");
    assertEquals("database", Journal.load(journal.dir()).entry(StepName.COPY_DATABASE).detail);
  }

  /** If the target cannot be compared before the first attempt, a resume never trusts equal counts. */
  @Test
  void resumeCopiesAgainWhenTheTargetCouldNotBeComparedBeforeTheFirstAttempt() throws Exception {
    FakeOps ops = new FakeOps() {
      @Override public java.util.Optional<StepResult> databaseAlreadyCopied() {
        if (copyChecks++ == 0) {
          throw new IllegalStateException("cannot reach the target");
        }
        return java.util.Optional.of(StepResult.done(1, 0, "already copied"));
      }
    };
    ops.failAt = "database";
    Journal journal = Journal.create(dir, "old", "new", false, false);
    List<String> log = new ArrayList<>();
    assertThrows(MigrationFailedException.class, () -> new Migration(ops, journal, log::add).run(() -> true));
    assertTrue(log.stream().anyMatch(l -> l.contains("a resume will copy again")), log.toString());
    ops.calls.clear();
    new Migration(ops, Journal.unfinished(dir, "old", "new").orElseThrow(), line -> { }).run(() -> true);
    assertEquals("database", ops.calls.get(0), ops.calls.toString());
  }

  @Test
  void preflightRefusalStopsNothing() throws Exception {
    FakeOps ops = new FakeOps();
    ops.target = FakeOps.facts("new", "other.social", 15, 14, 14, "4.2.0");
    Journal journal = Journal.create(dir, "old", "new", false, false);
    PreflightRefusedException e = assertThrows(PreflightRefusedException.class,
        () -> new Migration(ops, journal, line -> { }).run(() -> true));
    assertTrue(ops.calls.isEmpty(), ops.calls.toString());
    List<String> failed = e.checks().stream().filter(c -> !c.passed()).map(Check::name).toList();
    assertTrue(failed.contains("same LOCAL_DOMAIN/WEB_DOMAIN"), failed.toString());
    assertTrue(failed.contains("pg_restore (target) >= pg_dump (source)"), failed.toString());
    assertTrue(failed.contains("target Mastodon not older than source"), failed.toString());
    assertTrue(e.checks().stream().filter(c -> !c.passed()).allMatch(c -> !c.fix().isEmpty()));
  }

  @Test
  void withoutStartedUnitsFeedsAndSmokeTestAreSkippedWithTheReason() throws Exception {
    FakeOps ops = new FakeOps() {
      @Override public StepResult startServices(Side side) {
        calls.add("start " + side.label());
        return StepResult.skipped("systemd is not running on new");
      }
    };
    Journal journal = Journal.create(dir, "old", "new", false, false);
    new Migration(ops, journal, line -> { }).run(() -> true);
    assertFalse(ops.calls.contains("tootctl feeds build"));
    assertEquals(Journal.State.SKIPPED, journal.entry(StepName.SMOKE_TEST).state);
    assertTrue(journal.entry(StepName.SMOKE_TEST).detail.contains("systemd is not running on new"));
  }

  @Test
  void declinedConfirmationStopsNothing() throws Exception {
    FakeOps ops = new FakeOps();
    Journal journal = Journal.create(dir, "old", "new", false, false);
    assertThrows(MigrationFailedException.class, () -> new Migration(ops, journal, line -> { }).run(() -> false));
    assertEquals(List.of("media"), ops.calls);
  }

  @Test
  void preflightRefusesAHostWithoutHardLinkProtection() {
    HostFacts source = FakeOps.facts("old", "a.social", 15, 15, 15, "4.3.0");
    List<Check> fine = Preflight.run(source, FakeOps.facts("new", "a.social", 15, 15, 15, "4.3.0"), false);
    List<Check> linkChecks = fine.stream().filter(c -> c.name().endsWith(" hard-link protection")).toList();
    assertEquals(2, linkChecks.size(), fine.toString());
    assertTrue(linkChecks.stream().allMatch(c -> c.passed() && !c.warning()), linkChecks.toString());

    List<Check> checks = Preflight.run(source, FakeOps.facts("new", "a.social", 15, 15, 15, "4.3.0", "0"), false);
    assertFalse(Preflight.passed(checks));
    Check refused = checks.stream().filter(c -> c.name().equals("new hard-link protection")).findFirst().orElseThrow();
    assertFalse(refused.passed());
    assertTrue(refused.detail().contains("fs.protected_hardlinks is 0"), refused.detail());

    // Unreadable (no /proc): the agent does not refuse, so preflight only warns.
    Check unknown = Preflight.hardlinks(FakeOps.facts("old", "a.social", 15, 15, 15, "4.3.0", ""));
    assertTrue(unknown.passed() && unknown.warning());
    assertTrue(unknown.detail().contains("could not be read"), unknown.detail());
  }

  @Test
  void preflightCatchesVersionSkewAndMissingSecrets() {
    HostFacts source = FakeOps.facts("old", "a.social", 16, 15, 15, "4.3.0");
    HostFacts target = FakeOps.facts("new", "a.social", 15, 15, 15, "4.3.0");
    List<Check> checks = Preflight.run(source, target, false);
    assertTrue(checks.stream().anyMatch(c -> !c.passed() && c.name().startsWith("pg_dump (source)")));
    HostFacts noSecrets = new HostFacts("old", "ubuntu", "a.social", "a.social", "4.3.0", 15, 15, 15, "m", 1, 1, 1,
        1L << 40, 1L << 40, false, List.of(), Set.of("OTP_SECRET"), "1");
    Check secrets = Preflight.secrets(noSecrets);
    assertFalse(secrets.passed());
    assertTrue(secrets.detail().contains("SECRET_KEY_BASE"));
  }
}
