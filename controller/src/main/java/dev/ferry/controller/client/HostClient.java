package dev.ferry.controller.client;

import dev.ferry.common.identity.Identity;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.CheckSecretsRequest;
import dev.ferry.proto.v1.CheckSecretsResponse;
import dev.ferry.proto.v1.ControlUnitsRequest;
import dev.ferry.proto.v1.CopyRedisDumpRequest;
import dev.ferry.proto.v1.CopyRedisDumpResponse;
import dev.ferry.proto.v1.CopySecretsRequest;
import dev.ferry.proto.v1.CopySecretsResponse;
import dev.ferry.proto.v1.HostServiceGrpc;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.RunTootctlRequest;
import dev.ferry.proto.v1.RunTootctlResponse;
import dev.ferry.proto.v1.UnitAction;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The controller's view of one agent's host powers: systemd units, secrets, tootctl and the
 * Redis dump. Plain Java in and out, for the CLI and the migration orchestrator.
 */
public final class HostClient implements AutoCloseable {
  private final AgentClient agent;

  private HostClient(AgentClient agent) {
    this.agent = agent;
  }

  public static HostClient connect(PairedHost host, Identity identity) {
    return new HostClient(AgentClient.connect(host, identity));
  }

  public PairedHost host() {
    return agent.host();
  }

  public enum Action { STATUS, START, STOP, RESTART }

  /** Where a unit ended up. */
  public enum Outcome {
    ACTIVE, INACTIVE, FAILED, TIMED_OUT, NOT_FOUND, CHANGING;

    public String label() {
      return name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }
  }

  /** One unit after an action. {@code result} is systemd's Result (success, exit-code, timeout...). */
  public record UnitReport(String unit, Outcome outcome, String activeState, String subState, String result) {
    /** Not running: inactive, failed or unknown to systemd. */
    public boolean stopped() {
      return outcome == Outcome.INACTIVE || outcome == Outcome.FAILED || outcome == Outcome.NOT_FOUND;
    }
  }

  /**
   * Acts on units (empty list: the layout's Mastodon units), waiting up to {@code timeout} per
   * unit. Stops run in reverse start order. Throws if any unit is outside the agent's allowlist
   * (code PERMISSION_DENIED; nothing was done).
   */
  public List<UnitReport> units(Action action, List<String> units, Duration timeout) throws AgentException {
    try {
      return HostServiceGrpc.newBlockingStub(agent.channel())
          .withDeadlineAfter(timeout.multipliedBy(Math.max(1, units.size() + 4)).plusSeconds(60).toMillis(), TimeUnit.MILLISECONDS)
          .controlUnits(ControlUnitsRequest.newBuilder()
              .setAction(UnitAction.valueOf("UNIT_ACTION_" + action.name()))
              .addAllUnits(units)
              .setTimeoutSeconds((int) timeout.toSeconds())
              .build())
          .getUnitsList().stream()
          .map(u -> new UnitReport(u.getUnit(), Outcome.valueOf(u.getOutcome().name().substring("UNIT_OUTCOME_".length())),
              u.getActiveState(), u.getSubState(), u.getResult()))
          .toList();
    } catch (StatusRuntimeException e) {
      throw Failures.of(host().name(), e);
    }
  }

  /** Which secret keys the host has; {@code missingRequired} names required ones it lacks. */
  public record SecretsPresence(List<String> present, List<String> missingRequired) {
    public boolean complete() {
      return missingRequired.isEmpty();
    }
  }

  /** For preflight: names only, never values. */
  public SecretsPresence checkSecrets() throws AgentException {
    try {
      CheckSecretsResponse r = HostServiceGrpc.newBlockingStub(agent.channel())
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .checkSecrets(CheckSecretsRequest.getDefaultInstance());
      return new SecretsPresence(List.copyOf(r.getPresentList()), List.copyOf(r.getMissingRequiredList()));
    } catch (StatusRuntimeException e) {
      throw Failures.of(host().name(), e);
    }
  }

  /** @param action written, replaced, unchanged or skipped; {@code detail} never holds a value */
  public record SecretKeyReport(String key, String action, String detail) {}

  /**
   * @param initDirs what happened to mastodon-init-dirs
   * @param nixSnippet the services.mastodon snippet for the non-secret settings ("" if none)
   * @param missingRequired required keys the source lacked
   */
  public record SecretsCopyReport(List<SecretKeyReport> keys, String initDirs, String nixSnippet, List<String> missingRequired) {}

  /**
   * Call on the TARGET: it pulls the secrets from the source named in {@code source} (issued by
   * {@link TicketIssuer} with OPERATION_READ_SECRETS) and writes them in its own layout's form.
   */
  public SecretsCopyReport copySecretsFrom(PeerSource source) throws AgentException {
    try {
      CopySecretsResponse r = HostServiceGrpc.newBlockingStub(agent.channel())
          .withDeadlineAfter(5, TimeUnit.MINUTES)
          .copySecrets(CopySecretsRequest.newBuilder().setSource(source).build());
      return new SecretsCopyReport(
          r.getKeysList().stream()
              .map(k -> new SecretKeyReport(k.getKey(), k.getAction().name().substring("SECRET_ACTION_".length()).toLowerCase(Locale.ROOT), k.getDetail()))
              .toList(),
          r.getInitDirs(), r.getNixSnippet(), List.copyOf(r.getMissingRequiredList()));
    } catch (StatusRuntimeException e) {
      throw Failures.of(host().name(), e);
    }
  }

  /** Receives tootctl's output as it arrives. */
  public interface TootctlOutput {
    void stdout(byte[] data);

    void stderr(byte[] data);
  }

  /**
   * Runs an allowlisted tootctl subcommand (e.g. {@code feeds build}) and streams its output to
   * {@code output}; returns tootctl's exit code. A refused command throws PERMISSION_DENIED.
   */
  public int tootctl(List<String> args, TootctlOutput output) throws AgentException {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      // The blocking iterator requests one message at a time: the agent sends no faster than we print.
      Iterator<RunTootctlResponse> events = HostServiceGrpc.newBlockingStub(agent.channel())
          .withDeadlineAfter(12, TimeUnit.HOURS)
          .runTootctl(RunTootctlRequest.newBuilder().addAllArgs(args).build());
      while (events.hasNext()) {
        RunTootctlResponse event = events.next();
        switch (event.getEventCase()) {
          case STDOUT -> output.stdout(event.getStdout().toByteArray());
          case STDERR -> output.stderr(event.getStderr().toByteArray());
          case EXIT_CODE -> {
            return event.getExitCode();
          }
          default -> { }
        }
      }
      throw new AgentException(host().name(), "INTERNAL", "tootctl's output ended without an exit code", null);
    } catch (StatusRuntimeException e) {
      throw Failures.of(host().name(), e);
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
  }

  public record RedisCopyReport(String path, long bytes, String backup, String sourceVersion, String targetVersion) {}

  /** Call on the TARGET with a ticket allowing OPERATION_READ_REDIS; Redis must be stopped on both. */
  public RedisCopyReport copyRedisFrom(PeerSource source) throws AgentException {
    try {
      CopyRedisDumpResponse r = HostServiceGrpc.newBlockingStub(agent.channel())
          .withDeadlineAfter(6, TimeUnit.HOURS)
          .copyRedisDump(CopyRedisDumpRequest.newBuilder().setSource(source).build());
      return new RedisCopyReport(r.getPath(), r.getBytes(), r.getBackup(), r.getSourceVersion(), r.getTargetVersion());
    } catch (StatusRuntimeException e) {
      throw Failures.of(host().name(), e);
    }
  }

  @Override
  public void close() {
    agent.close();
  }
}
