package dev.ferry.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.layout.LayoutResolver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The configs the NixOS module renders (systemd/nixos/testdata/*.conf, produced by Nix
 * evaluating the module's own renderer: testing/nix-check.sh) are accepted by the parser
 * {@code ferry-agent run} uses, {@link AgentConfig#load}, and mean what the module intends.
 */
class NixosRenderingTest {
  private static AgentConfig load(String name) throws ConfigException {
    return AgentConfig.load(RepoFiles.find("systemd/nixos/testdata/" + name + ".conf"));
  }

  @Test
  void moduleDefaults() throws Exception {
    AgentConfig config = load("defaults");
    assertEquals("100.64.0.2", config.listenHost());
    assertEquals(7443, config.listenPort());
    assertEquals(Path.of("/var/lib/ferry"), config.stateDir());
    assertEquals(LayoutResolver.defaults(LayoutKind.NIXOS), config.layout());
    assertEquals(List.of("mastodon-*", "redis-mastodon"), config.unitsAllow());
  }

  @Test
  void nextToServicesMastodon() throws Exception {
    AgentConfig config = load("with-mastodon");
    assertEquals(LayoutKind.NIXOS, config.layout().kind());
    assertEquals(
        List.of("mastodon-init-dirs", "mastodon-web", "mastodon-sidekiq-all",
            "mastodon-streaming-1", "mastodon-streaming-2", "mastodon-streaming-3"),
        config.layout().units());
    assertEquals("mastodon", config.layout().database().name());
    assertEquals(Path.of("/run/postgresql"), config.layout().database().socketDir());
    assertEquals("unix:/run/mastodon-web/web.socket", config.layout().webUrl());
    assertEquals(Optional.of(Path.of("/var/lib/mastodon/secrets")), config.layout().secretsDir());
  }

  @Test
  void overridesIpv6AndFreeSettings() throws Exception {
    AgentConfig config = load("overrides");
    assertEquals("fd7a:115c:a1e0::2", config.listenHost());
    assertEquals(7444, config.listenPort());
    assertEquals(Path.of("/srv/mastodon/public-system"), config.layout().mediaRoot());
    assertEquals(List.of("mastodon-*", "redis-mastodon"), config.unitsAllow());
    assertEquals("pgadmin", config.layout().database().superuser());
    assertEquals(Duration.ofMinutes(10), config.pairingCodeTtl());
    assertEquals(Optional.of(Path.of("/run/current-system/sw/bin")), config.pgBindir());
    // The null-valued key is left out of the file, so the NixOS default stands.
    assertEquals(List.of("mastodon-tootctl"), config.layout().tootctl());
  }
}
