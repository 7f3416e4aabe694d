package dev.ferry.agent;

import dev.ferry.agent.auth.Authenticator;
import dev.ferry.agent.config.AgentConfig;
import dev.ferry.agent.grpc.AgentServer;
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

  private Agent(AgentConfig config, Identity identity, AgentServer server) {
    this.config = config;
    this.identity = identity;
    this.server = server;
  }

  /** Loads (or creates) the identity and starts serving. */
  public static Agent start(AgentConfig config) throws IOException {
    AgentState state = new AgentState(config.stateDir());
    Identity identity = state.loadOrCreateIdentity(StatusCollector.hostname());
    Clock clock = Clock.systemUTC();
    ProcessRunner runner = new ProcessRunner();
    PgTools pg = new PgTools(runner, config.pgBindir(), config.layout().database());
    Systemctl systemctl = new Systemctl(runner);
    StatusCollector status = new StatusCollector(config.layout(), pg, systemctl);
    Authenticator authenticator = new Authenticator(state, identity, clock);
    PeerConnector peers = new PeerConnector(identity);
    List<AgentServer.Extension> extensions = new ArrayList<>();
    // Each area of the agent adds its service here (media, database, host control).
    DatabaseInspector databases = new DatabaseInspector(pg, runner, systemctl, config.layout().units());
    extensions.add(
        new DatabaseGrpcService(pg, runner, databases, new DatabaseCopier(pg, runner, databases, clock), peers).extension());
    AgentServer server =
        AgentServer.start(
            config.listenHost(), config.listenPort(), identity, authenticator, status, VERSION, extensions);
    return new Agent(config, identity, server);
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
      server.stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
