package dev.ferry.agent.grpc;

import com.google.protobuf.ByteString;
import dev.ferry.agent.auth.AccessDeniedException;
import dev.ferry.agent.auth.Caller;
import dev.ferry.agent.disk.HardlinkProtection;
import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.redis.RedisDump;
import dev.ferry.agent.secrets.NixSnippet;
import dev.ferry.agent.secrets.SecretNames;
import dev.ferry.agent.secrets.SecretValues;
import dev.ferry.agent.secrets.SecretsSource;
import dev.ferry.agent.secrets.SecretsTarget;
import dev.ferry.agent.services.ServiceControl;
import dev.ferry.agent.services.Systemctl;
import dev.ferry.agent.services.UnitResult;
import dev.ferry.agent.tootctl.Tootctl;
import dev.ferry.proto.v1.CheckSecretsRequest;
import dev.ferry.proto.v1.CheckSecretsResponse;
import dev.ferry.proto.v1.ControlUnitsRequest;
import dev.ferry.proto.v1.ControlUnitsResponse;
import dev.ferry.proto.v1.CopyRedisDumpRequest;
import dev.ferry.proto.v1.CopyRedisDumpResponse;
import dev.ferry.proto.v1.CopySecretsRequest;
import dev.ferry.proto.v1.CopySecretsResponse;
import dev.ferry.proto.v1.HostServiceGrpc;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.ReadRedisDumpRequest;
import dev.ferry.proto.v1.ReadRedisDumpResponse;
import dev.ferry.proto.v1.ReadSecretsRequest;
import dev.ferry.proto.v1.ReadSecretsResponse;
import dev.ferry.proto.v1.RunTootctlRequest;
import dev.ferry.proto.v1.RunTootctlResponse;
import dev.ferry.proto.v1.Secret;
import dev.ferry.proto.v1.SecretAction;
import dev.ferry.proto.v1.SecretKeyResult;
import dev.ferry.proto.v1.UnitAction;
import dev.ferry.proto.v1.UnitOutcome;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Adapts the host packages (services, secrets, tootctl, redis) to {@code ferry.v1.HostService}. */
public final class HostGrpcService extends HostServiceGrpc.HostServiceImplBase {
  private static final Duration DEFAULT_UNIT_TIMEOUT = Duration.ofSeconds(120);
  private static final int CHUNK = 256 * 1024;
  // Long jobs (tootctl, streams) run here, never on gRPC's callback threads, so flow-control
  // callbacks can still arrive while a job waits for them.
  private static final ExecutorService WORKERS =
      Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "host-worker");
        t.setDaemon(true);
        return t;
      });

  private final Layout layout;
  private final ServiceControl services;
  private final Systemctl systemctl;
  private final SecretsSource secretsSource;
  private final SecretsTarget secretsTarget;
  private final Tootctl tootctl;
  private final RedisDump redis;
  private final HostPeerClient peers;
  private final HardlinkProtection links;

  public HostGrpcService(Layout layout, ServiceControl services, Systemctl systemctl, SecretsSource secretsSource,
      SecretsTarget secretsTarget, Tootctl tootctl, RedisDump redis, HostPeerClient peers, HardlinkProtection links) {
    this.links = links;
    this.layout = layout;
    this.services = services;
    this.systemctl = systemctl;
    this.secretsSource = secretsSource;
    this.secretsTarget = secretsTarget;
    this.tootctl = tootctl;
    this.redis = redis;
    this.peers = peers;
  }

  /** The methods peer agents may call, with the ticket operation each needs. */
  public static Map<String, Operation> peerMethods() {
    return Map.of(
        HostServiceGrpc.getReadSecretsMethod().getFullMethodName(), Operation.OPERATION_READ_SECRETS,
        HostServiceGrpc.getReadRedisDumpMethod().getFullMethodName(), Operation.OPERATION_READ_REDIS);
  }

  @Override
  public void controlUnits(ControlUnitsRequest request, StreamObserver<ControlUnitsResponse> responses) {
    try {
      int seconds = request.getTimeoutSeconds();
      if (seconds < 0 || seconds > ServiceControl.MAX_TIMEOUT.toSeconds()) {
        throw new IllegalArgumentException("timeout_seconds must be between 0 and " + ServiceControl.MAX_TIMEOUT.toSeconds());
      }
      Duration timeout = seconds == 0 ? DEFAULT_UNIT_TIMEOUT : Duration.ofSeconds(seconds);
      List<String> units = request.getUnitsList();
      List<UnitResult> results =
          switch (request.getAction()) {
            case UNIT_ACTION_STATUS -> services.status(units);
            case UNIT_ACTION_START -> services.start(units, timeout);
            case UNIT_ACTION_STOP -> services.stop(units, timeout);
            case UNIT_ACTION_RESTART -> services.restart(units, timeout);
            default -> throw new IllegalArgumentException("action must be status, start, stop or restart");
          };
      ControlUnitsResponse.Builder response = ControlUnitsResponse.newBuilder();
      for (UnitResult r : results) {
        response.addUnits(dev.ferry.proto.v1.UnitResult.newBuilder()
            .setUnit(r.unit())
            .setOutcome(UnitOutcome.valueOf("UNIT_OUTCOME_" + r.outcome().name()))
            .setActiveState(r.activeState())
            .setSubState(r.subState())
            .setResult(r.result()));
      }
      responses.onNext(response.build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void checkSecrets(CheckSecretsRequest request, StreamObserver<CheckSecretsResponse> responses) {
    try {
      SecretValues secrets = secretsSource.read();
      responses.onNext(CheckSecretsResponse.newBuilder()
          .addAllPresent(secrets.keys())
          .addAllMissingRequired(missing(secrets.keys()))
          .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void readSecrets(ReadSecretsRequest request, StreamObserver<ReadSecretsResponse> responses) {
    try {
      Caller caller = AuthInterceptor.CALLER.get();
      if (caller == null || caller.controller()) {
        // Secrets travel agent to agent only; a controller asks the target to CopySecrets.
        throw new AccessDeniedException("secrets are only given to a peer agent holding a ticket; use CopySecrets on the target");
      }
      links.require("send secrets");
      SecretValues secrets = secretsSource.read();
      ReadSecretsResponse.Builder response = ReadSecretsResponse.newBuilder()
          .putAllSettings(secretsSource.settings())
          .addAllUncopiedCredentials(secretsSource.uncopiedCredentials());
      secrets.asMap().forEach((k, v) -> response.addSecrets(Secret.newBuilder().setKey(k).setValue(v)));
      java.util.logging.Logger.getLogger(HostGrpcService.class.getName())
          .info("secrets " + secrets.keys() + " read by peer " + caller.fingerprint() + " for " + caller.migrationId());
      responses.onNext(response.build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void copySecrets(CopySecretsRequest request, StreamObserver<CopySecretsResponse> responses) {
    try {
      links.require("write secrets");
      HostPeerClient.SourceSecrets source = peers.readSecrets(request.getSource());
      CopySecretsResponse.Builder response = CopySecretsResponse.newBuilder()
          .addAllMissingRequired(missing(source.secrets().keys()));
      if (source.secrets().keys().isEmpty()) {
        throw new IllegalStateException("the source has no secret settings; nothing was written");
      }
      for (SecretsTarget.KeyResult r : secretsTarget.write(source.secrets())) {
        response.addKeys(SecretKeyResult.newBuilder()
            .setKey(r.key())
            .setAction(SecretAction.valueOf("SECRET_ACTION_" + r.action().name()))
            .setDetail(r.detail()));
      }
      response.setInitDirs(rebuildSecretsEnv());
      if (!source.settings().isEmpty() || !source.credentials().isEmpty()) {
        response.setNixSnippet(NixSnippet.render(source.settings(), source.credentials()));
      }
      responses.onNext(response.build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  /** On NixOS, mastodon-init-dirs turns the secret files into .secrets_env. */
  private String rebuildSecretsEnv() throws Exception {
    String unit = "mastodon-init-dirs";
    if (!layout.units().contains(unit)) {
      return "not needed on the " + layout.kind().label() + " layout";
    }
    if (!systemctl.isRunning()) {
      return "skipped: systemd is not running; restart " + unit + " before starting Mastodon";
    }
    UnitResult result = services.restart(List.of(unit), DEFAULT_UNIT_TIMEOUT).get(0);
    return "restarted " + unit + ": " + result.outcome().label();
  }

  @Override
  public void runTootctl(RunTootctlRequest request, StreamObserver<RunTootctlResponse> responses) {
    FlowControlledSender<RunTootctlResponse> sender = new FlowControlledSender<>(responses);
    List<String> args = List.copyOf(request.getArgsList());
    try {
      Tootctl.requireAllowed(args);
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
      return;
    }
    WORKERS.execute(() -> {
      try {
        int code = tootctl.run(args, (stderr, data, length) -> {
          ByteString bytes = ByteString.copyFrom(data, 0, length);
          // The sink is called from two reader threads; one message at a time on the stream.
          synchronized (sender) {
            sender.send(stderr ? RunTootctlResponse.newBuilder().setStderr(bytes).build()
                : RunTootctlResponse.newBuilder().setStdout(bytes).build());
          }
        }, Tootctl.MAX_RUNTIME);
        synchronized (sender) {
          sender.send(RunTootctlResponse.newBuilder().setExitCode(code).build());
        }
        responses.onCompleted();
      } catch (Exception e) {
        if (!sender.cancelled()) {
          responses.onError(Statuses.toStatus(e));
        }
      }
    });
  }

  @Override
  public void readRedisDump(ReadRedisDumpRequest request, StreamObserver<ReadRedisDumpResponse> responses) {
    Caller caller = AuthInterceptor.CALLER.get();
    if (caller == null || caller.controller()) {
      // Like secrets, the dump travels agent to agent only; a controller asks the target to CopyRedisDump.
      responses.onError(Statuses.toStatus(new AccessDeniedException(
          "the Redis dump is only given to a peer agent holding a ticket; use CopyRedisDump on the target")));
      return;
    }
    FlowControlledSender<ReadRedisDumpResponse> sender = new FlowControlledSender<>(responses);
    WORKERS.execute(() -> {
      try {
        links.require("send the Redis dump");
      } catch (IllegalStateException e) {
        responses.onError(Statuses.toStatus(e));
        return;
      }
      try (InputStream in = redis.open()) {
        sender.send(ReadRedisDumpResponse.newBuilder().setRedisVersion(redis.version()).build());
        MessageDigest sha = RedisDump.sha256();
        byte[] buffer = new byte[CHUNK];
        int n;
        while ((n = in.readNBytes(buffer, 0, CHUNK)) > 0) {
          sha.update(buffer, 0, n);
          sender.send(ReadRedisDumpResponse.newBuilder().setData(ByteString.copyFrom(buffer, 0, n)).build());
        }
        sender.send(ReadRedisDumpResponse.newBuilder().setSha256(HexFormat.of().formatHex(sha.digest())).build());
        responses.onCompleted();
      } catch (Exception e) {
        if (!sender.cancelled()) {
          responses.onError(Statuses.toStatus(e));
        }
      }
    });
  }

  @Override
  public void copyRedisDump(CopyRedisDumpRequest request, StreamObserver<CopyRedisDumpResponse> responses) {
    try {
      links.require("write the Redis dump");
      RedisDump.Received received = peers.copyRedisDump(request.getSource(), redis);
      responses.onNext(CopyRedisDumpResponse.newBuilder()
          .setPath(received.file().toString())
          .setBytes(received.bytes())
          .setBackup(received.backup().map(Object::toString).orElse(""))
          .setSourceVersion(received.sourceVersion())
          .setTargetVersion(received.targetVersion())
          .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  private static List<String> missing(java.util.Set<String> present) {
    List<String> missing = new ArrayList<>();
    for (String key : SecretNames.REQUIRED) {
      if (!present.contains(key)) {
        missing.add(key);
      }
    }
    return missing;
  }
}
