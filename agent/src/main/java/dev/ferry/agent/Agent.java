package dev.ferry.agent;

import dev.ferry.agent.auth.Authenticator;
import dev.ferry.agent.config.AgentConfig;
import dev.ferry.agent.disk.HardlinkProtection;
import dev.ferry.agent.grpc.AgentServer;
import dev.ferry.agent.grpc.HostGrpcService;
import dev.ferry.agent.grpc.HostPeerClient;
import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.redis.RedisDump;
import dev.ferry.agent.secrets.SecretsSource;
import dev.ferry.agent.secrets.SecretsTarget;
import dev.ferry.agent.services.ServiceControl;
import dev.ferry.agent.tootctl.Tootctl;
import dev.ferry.agent.grpc.MediaGrpcService;
import java.util.Optional;
import dev.ferry.agent.grpc.DatabaseGrpcService;
import dev.ferry.agent.grpc.PeerConnector;
import dev.ferry.agent.postgres.DatabaseCopier;
import dev.ferry.agent.postgres.DatabaseInspector;
import dev.ferry.agent.postgres.PgTools;
import dev.ferry.agent.process.ProcessRunner;
import dev.ferry.agent.services.Systemctl;
import dev.ferry.agent.state.AgentState;
import dev.ferry.agent.status.StatusCollector;
import dev.ferry.common.identity.Identity;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** A running agent: the objects wired by hand from a config, and its server. */
public final class Agent implements AutoCloseable {
  public static final String VERSION = "0.1.0";

  private final AgentConfig config;
  private final Identity identity;
  private final AgentServer server;

  private final MediaGrpcService media;

  private Agent(AgentConfig config, Identity identity, AgentServer server, MediaGrpcService media) {
    this.config = config;
    this.identity = identity;
    this.server = server;
    this.media = media;
  }

  /** Loads (or creates) the identity and starts serving. */
  public static Agent start(AgentConfig config) throws IOException {
    return start(config, new HardlinkProtection(HardlinkProtection.SYSCTL, StatusCollector.hostname()));
  }

  /** As {@link #start(AgentConfig)}, with the kernel setting read from elsewhere (tests). */
  public static Agent start(AgentConfig config, HardlinkProtection links) throws IOException {
    AgentState state = new AgentState(config.stateDir());
    Identity identity = state.loadOrCreateIdentity(StatusCollector.hostname());
    Clock clock = Clock.systemUTC();
    ProcessRunner runner = new ProcessRunner();
    PgTools pg = new PgTools(runner, config.pgBindir(), config.layout().database());
    Systemctl systemctl = new Systemctl(runner);
    StatusCollector status = new StatusCollector(config.layout(), pg, systemctl, config.localDomain(), links);
    Authenticator authenticator = new Authenticator(state, identity, clock);
    PeerConnector peers = new PeerConnector(identity);
    List<AgentServer.Extension> extensions = new ArrayList<>();
    // Each area of the agent adds its service here (media, database, host control).
    extensions.add(hostService(config, runner, systemctl, peers, clock, links));
    MediaGrpcService media = new MediaGrpcService(config.layout(), peers, root -> flushToDisk(runner, root), clock, links);
    extensions.add(media.extension());
    DatabaseInspector databases = new DatabaseInspector(pg, runner, systemctl, config.layout().units());
    extensions.add(
        new DatabaseGrpcService(pg, runner, databases, new DatabaseCopier(pg, runner, databases, clock), peers).extension());
    AgentServer server =
        AgentServer.start(
            config.listenHost(), config.listenPort(), identity, authenticator, status, VERSION,
            new dev.ferry.agent.web.WebProbe(config.layout().webUrl()), extensions);
    return new Agent(config, identity, server, media);
  }

  /** One syncfs for a whole media pull, instead of an fsync per small file. */
  private static void flushToDisk(ProcessRunner runner, java.nio.file.Path root) throws IOException {
    try {
      runner.check(List.of("sync", "-f", root.toString()), java.util.Map.of(), java.time.Duration.ofMinutes(30));
    } catch (dev.ferry.agent.process.CommandFailedException e) {
      throw new IOException("cannot flush the media root to disk: " + e.getMessage(), e);
    }
  }

  private static AgentServer.Extension hostService(
      AgentConfig config, ProcessRunner runner, Systemctl systemctl, PeerConnector peers, Clock clock,
      HardlinkProtection links) {
    Layout layout = config.layout();
    ServiceControl services = new ServiceControl(systemctl, config.unitsAllow(), layout.units());
    RedisDump.RedisState redisState = () -> systemctl.isRunning()
        ? Optional.of(!services.status(List.of(layout.redisUnit())).get(0).stopped())
        : Optional.empty();
    return new AgentServer.Extension(
        new HostGrpcService(layout, services, systemctl, new SecretsSource(layout), new SecretsTarget(layout, clock),
            new Tootctl(layout, runner), new RedisDump(layout, runner, redisState, clock), new HostPeerClient(peers), links),
        HostGrpcService.peerMethods());
  }

  public int port() {
    return server.port();
  }

  public String fingerprint() {
    return identity.fingerprint();
  }

  public AgentConfig config() {
    return config;
  }

  public void awaitTermination() throws InterruptedException {
    server.blockUntilShutdown();
  }

  @Override
  public void close() {
    try {
      media.shutdown();
      server.stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
