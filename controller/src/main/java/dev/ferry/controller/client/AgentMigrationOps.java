package dev.ferry.controller.client;

import dev.ferry.controller.home.PairedHost;
import dev.ferry.controller.migration.Check;
import dev.ferry.controller.migration.HostFacts;
import dev.ferry.controller.migration.MigrationOps;
import dev.ferry.controller.migration.Side;
import dev.ferry.controller.migration.StepResult;
import dev.ferry.proto.v1.DiskStatus;
import dev.ferry.proto.v1.HostStatus;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.UnitStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@link MigrationOps} over the agents' gRPC APIs: every data-moving step is the target pulling
 * from the source with a fresh, single-use ticket; the controller only sees progress.
 */
public final class AgentMigrationOps implements MigrationOps {
  private static final Duration UNIT_TIMEOUT = Duration.ofMinutes(3);
  private static final Duration WEB_WAIT = Duration.ofMinutes(3);

  private final Map<Side, AgentClient> agents = new EnumMap<>(Side.class);
  private final Map<Side, HostClient> hosts = new EnumMap<>(Side.class);
  private final Map<Side, HostStatus> statusCache = new EnumMap<>(Side.class);
  private final TicketIssuer tickets;
  private final String migrationId;
  private final boolean showProgress;

  AgentMigrationOps(AgentClient source, AgentClient target, HostClient sourceHost, HostClient targetHost,
      TicketIssuer tickets, String migrationId, boolean showProgress) {
    agents.put(Side.SOURCE, source);
    agents.put(Side.TARGET, target);
    hosts.put(Side.SOURCE, sourceHost);
    hosts.put(Side.TARGET, targetHost);
    this.tickets = tickets;
    this.migrationId = migrationId;
    this.showProgress = showProgress;
  }

  private PairedHost host(Side side) {
    return agents.get(side).host();
  }

  /** A fresh single-use ticket for the target to pull {@code operation} from the source. */
  private PeerSource ticket(Operation operation) {
    return tickets.issue(migrationId, host(Side.SOURCE), host(Side.TARGET), Set.of(operation));
  }

  private HostStatus status(Side side) throws AgentException {
    HostStatus status = agents.get(side).status();
    statusCache.put(side, status);
    return status;
  }

  /** The last status read, to decide about systemd without asking again for every step. */
  private HostStatus knownStatus(Side side) throws AgentException {
    HostStatus status = statusCache.get(side);
    return status != null ? status : status(side);
  }

  @Override
  public HostFacts facts(Side side) throws Exception {
    HostStatus s = status(side);
    Set<String> secrets = new HashSet<>();
    if (side == Side.SOURCE) {
      secrets.addAll(hosts.get(side).checkSecrets().present());
    }
    long mediaFree = disk(s, "media");
    long dbFree = disk(s, "database");
    List<HostFacts.Unit> units = new ArrayList<>();
    for (String name : s.getLayoutUnitsList()) {
      UnitStatus unit = s.getUnitsList().stream().filter(u -> u.getName().equals(name)).findFirst()
          .orElse(UnitStatus.newBuilder().setName(name).setLoadState("not-found").build());
      units.add(new HostFacts.Unit(name, unit.getLoadState(), unit.getActiveState()));
    }
    return new HostFacts(
        host(side).name(),
        s.getLayout().name().replace("LAYOUT_KIND_", "").toLowerCase(Locale.ROOT),
        s.getLocalDomain(),
        s.getWebDomain(),
        s.getMastodonVersion(),
        major(s.getPostgres().getServerVersion()),
        major(s.getPostgres().getPgDumpVersion()),
        major(s.getPostgres().getPgRestoreVersion()),
        s.getPostgres().getDatabaseName(),
        s.getPostgres().getDatabaseSizeBytes(),
        s.getMedia().getFiles(),
        s.getMedia().getBytes(),
        mediaFree,
        dbFree,
        s.getSystemdRunning(),
        units,
        secrets,
        s.getProtectedHardlinks());
  }

  @Override
  public List<Check> extraChecks() throws Exception {
    DbPreflight preflight = new DatabaseClient().preflight(agents.get(Side.SOURCE), agents.get(Side.TARGET),
        DbCopyOptions.streamed());
    List<Check> checks = new ArrayList<>();
    for (DbProblem problem : preflight.problems()) {
      String name = "database: " + problem.code().toLowerCase(Locale.ROOT).replace('_', ' ');
      // The migration stops the source before the copy, so "Mastodon still running" is expected here.
      checks.add(problem.severity() == DbProblem.Severity.REFUSAL
          ? Check.fail(name, problem.side() + ": " + problem.message(), problem.message())
          : Check.warn(name, problem.side() + ": " + problem.message(), "ferry stops the source before the copy"));
    }
    return checks;
  }

  private static long disk(HostStatus s, String purpose) {
    return s.getDisksList().stream().filter(d -> d.getPurpose().equals(purpose)).mapToLong(DiskStatus::getFreeBytes)
        .findFirst().orElse(0);
  }

  private static int major(String version) {
    String digits = version.replaceAll("^(\\d+).*$", "$1");
    return digits.matches("\\d+") ? Integer.parseInt(digits) : 0;
  }

  @Override
  public StepResult syncMedia(boolean excludeCache, Consumer<String> progress) throws Exception {
    Throttle throttle = new Throttle();
    MediaSyncReport report = new MediaClient().sync(
        agents.get(Side.TARGET),
        ticket(Operation.OPERATION_READ_MEDIA),
        new MediaSyncOptions(false, excludeCache, false),
        p -> {
          if (showProgress && p.saysSomething() && throttle.due()) {
            progress.accept("  media: " + p.describe());
          }
        });
    if (!report.refusals().isEmpty()) {
      throw new IllegalStateException(report.refusals().size() + " media entries were refused, e.g. "
          + report.refusals().get(0));
    }
    return StepResult.done(report.filesSent(), report.bytesSent(),
        report.filesSent() + " sent, " + report.filesSkipped() + " already there"
            + (report.filesResumed() > 0 ? ", " + report.filesResumed() + " resumed" : "")
            + (excludeCache ? "; cache/ excluded: rebuild with " + String.join("; ", MediaClient.CACHE_REBUILD_COMMANDS) : ""));
  }

  /** Why service control is skipped on a side, or empty if it can run. */
  private String whyNoUnits(Side side) throws AgentException {
    HostStatus s = knownStatus(side);
    if (!s.getSystemdRunning()) {
      return "systemd is not running on " + host(side).name();
    }
    if (s.getLayoutUnitsCount() == 0) {
      return "no Mastodon units are configured on " + host(side).name();
    }
    return "";
  }

  @Override
  public StepResult stopServices(Side side) throws Exception {
    String why = whyNoUnits(side);
    if (!why.isEmpty()) {
      return StepResult.skipped(why);
    }
    List<HostClient.UnitReport> reports = hosts.get(side).units(HostClient.Action.STOP, List.of(), UNIT_TIMEOUT);
    List<String> notStopped = reports.stream().filter(r -> !r.stopped()).map(r -> r.unit() + " " + r.outcome().label()).toList();
    if (!notStopped.isEmpty()) {
      throw new IllegalStateException("not stopped on " + host(side).name() + ": " + String.join(", ", notStopped));
    }
    return StepResult.done(summary(reports));
  }

  @Override
  public StepResult startServices(Side side) throws Exception {
    String why = whyNoUnits(side);
    if (!why.isEmpty()) {
      return StepResult.skipped(why);
    }
    List<HostClient.UnitReport> reports = hosts.get(side).units(HostClient.Action.START, List.of(), UNIT_TIMEOUT);
    List<String> notActive = reports.stream().filter(r -> r.outcome() != HostClient.Outcome.ACTIVE)
        .map(r -> r.unit() + " " + r.outcome().label()).toList();
    if (!notActive.isEmpty()) {
      throw new IllegalStateException("not active on " + host(side).name() + ": " + String.join(", ", notActive)
          + " (see journalctl -u UNIT there)");
    }
    return StepResult.done(summary(reports));
  }

  private static String summary(List<HostClient.UnitReport> reports) {
    return String.join(", ", reports.stream().map(r -> r.unit() + " " + r.outcome().label()).toList());
  }

  @Override
  public StepResult copySecrets() throws Exception {
    HostClient.SecretsCopyReport report = hosts.get(Side.TARGET).copySecretsFrom(
        ticket(Operation.OPERATION_READ_SECRETS));
    if (!report.missingRequired().isEmpty()) {
      throw new IllegalStateException("the source lacks " + String.join(", ", report.missingRequired()));
    }
    Map<String, Integer> actions = new java.util.TreeMap<>();
    report.keys().forEach(k -> actions.merge(k.action(), 1, Integer::sum));
    String what = String.join(", ", actions.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).toList());
    return StepResult.done(report.keys().size(), 0, report.keys().size() + " keys: " + what
        + (report.initDirs().isEmpty() ? "" : "; init-dirs " + report.initDirs()));
  }

  @Override
  public StepResult copyDatabase(Consumer<String> progress) throws Exception {
    Throttle throttle = new Throttle();
    DbCopyReport report = new DatabaseClient().copy(
        agents.get(Side.TARGET),
        ticket(Operation.OPERATION_DUMP_DATABASE),
        // The migration has stopped the source (or said why it could not): no second question.
        new DbCopyOptions(1, true),
        p -> {
          if (showProgress && throttle.due()) {
            progress.accept("  database: " + p.describe());
          }
        });
    return StepResult.done(report.tablesVerified(), report.bytesStreamed(),
        report.tablesVerified() + " tables, " + report.rowsVerified() + " rows, " + report.sequencesVerified()
            + " sequences verified" + report.renamedAsideTo().map(n -> "; old database kept as " + n).orElse(""));
  }

  @Override
  public java.util.Optional<StepResult> databaseAlreadyCopied() throws Exception {
    DatabaseClient db = new DatabaseClient();
    DbCounts target;
    try {
      target = db.counts(agents.get(Side.TARGET));
    } catch (AgentException e) {
      if (e.code().equals("FAILED_PRECONDITION")) {
        // No database to count on the target (yet): the copy must run.
        return java.util.Optional.empty();
      }
      // An unreachable target is not an answer: "differs" here would let a later resume trust
      // equal counts that predate this migration's copy.
      throw e;
    }
    // A fresh target (an empty schema) is never a copy: no need to count the source's rows, which
    // takes seconds of downtime on a large instance.
    if (target.tableRows().values().stream().mapToLong(Long::longValue).sum() == 0) {
      return java.util.Optional.empty();
    }
    DbCounts source = db.counts(agents.get(Side.SOURCE));
    if (source.tableRows().isEmpty() || !source.equals(target)) {
      return java.util.Optional.empty();
    }
    long rows = source.tableRows().values().stream().mapToLong(Long::longValue).sum();
    return java.util.Optional.of(StepResult.done(source.tableRows().size(), 0,
        source.tableRows().size() + " tables, " + rows + " rows, " + source.sequenceValues().size()
            + " sequences equal the source's: the interrupted attempt had already swapped its verified copy in"
            + " and set the target's old database aside then (as " + knownStatus(Side.TARGET).getPostgres().getDatabaseName()
            + "_before_ferry_<time>); not copied again"));
  }

  @Override
  public StepResult copyRedis() throws Exception {
    String sourceRedis = knownStatus(Side.SOURCE).getPaths().getRedisUnit();
    String targetRedis = knownStatus(Side.TARGET).getPaths().getRedisUnit();
    for (Side side : Side.values()) {
      String why = whyNoUnits(side);
      if (!why.isEmpty()) {
        return StepResult.skipped(why + ": Redis must be stopped on both sides to copy its dump");
      }
    }
    hosts.get(Side.TARGET).units(HostClient.Action.STOP, List.of(targetRedis), UNIT_TIMEOUT);
    hosts.get(Side.SOURCE).units(HostClient.Action.STOP, List.of(sourceRedis), UNIT_TIMEOUT);
    HostClient.RedisCopyReport report = hosts.get(Side.TARGET).copyRedisFrom(
        ticket(Operation.OPERATION_READ_REDIS));
    hosts.get(Side.TARGET).units(HostClient.Action.START, List.of(targetRedis), UNIT_TIMEOUT);
    // Back up for a rollback; Mastodon stays stopped on the source.
    hosts.get(Side.SOURCE).units(HostClient.Action.START, List.of(sourceRedis), UNIT_TIMEOUT);
    return StepResult.done(1, report.bytes(), report.path() + (report.backup().isEmpty() ? "" : "; previous kept as " + report.backup()));
  }

  @Override
  public StepResult tootctl(Side side, List<String> args, Consumer<String> output) throws Exception {
    StringBuilder tail = new StringBuilder();
    int code = hosts.get(side).tootctl(args, new HostClient.TootctlOutput() {
      @Override
      public void stdout(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        tail.append(text);
        text.lines().forEach(line -> output.accept("  tootctl: " + line));
      }

      @Override
      public void stderr(byte[] data) {
        new String(data, StandardCharsets.UTF_8).lines().forEach(line -> output.accept("  tootctl: " + line));
      }
    });
    if (code != 0) {
      throw new IllegalStateException("tootctl " + String.join(" ", args) + " exited " + code);
    }
    String last = tail.toString().strip();
    int newline = last.lastIndexOf('\n');
    return StepResult.done(newline < 0 ? last : last.substring(newline + 1));
  }

  @Override
  public StepResult smokeTest(String expectedDomain) throws Exception {
    AgentClient.WebCheck check = agents.get(Side.TARGET).checkWeb(expectedDomain, WEB_WAIT);
    if (!check.passed()) {
      throw new IllegalStateException("the target's web service failed the smoke test: " + check.detail());
    }
    return StepResult.done(check.detail());
  }

  @Override
  public void close() {
    hosts.values().forEach(HostClient::close);
    agents.values().forEach(AgentClient::close);
  }

  /** At most one progress line every two seconds. */
  private static final class Throttle {
    private long next;

    boolean due() {
      long now = System.nanoTime();
      if (now < next) {
        return false;
      }
      next = now + 2_000_000_000L;
      return true;
    }
  }
}
