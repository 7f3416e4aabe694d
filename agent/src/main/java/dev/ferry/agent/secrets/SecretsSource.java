package dev.ferry.agent.secrets;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.settings.EnvFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** Reads the secret settings (and the non-secret ones) from the layout's files. */
public final class SecretsSource {
  private final Layout layout;

  public SecretsSource(Layout layout) {
    this.layout = layout;
  }

  /** The secrets this host has: from {@code .env.production}, or the NixOS secret files. */
  public SecretValues read() throws IOException {
    Map<String, String> found = new LinkedHashMap<>();
    Optional<Path> env = envFile();
    if (env.isPresent()) {
      EnvFile.read(env.get()).forEach((key, value) -> {
        if (SecretNames.isSecret(key) && !value.isBlank()) {
          found.put(key, value);
        }
      });
    } else if (layout.secretsDir().isPresent()) {
      for (Map.Entry<String, String> entry : SecretNames.NIXOS_FILES.entrySet()) {
        Path file = layout.secretsDir().get().resolve(entry.getValue());
        if (Files.isRegularFile(file)) {
          String value = Files.readString(file, StandardCharsets.UTF_8).strip();
          if (!value.isEmpty()) {
            found.put(entry.getKey(), value);
          }
        }
      }
    } else {
      throw new IllegalStateException(
          "the " + layout.kind().label() + " layout has neither an env file nor a secrets directory;"
              + " set mastodon.env_file or secrets.dir in the agent config");
    }
    return new SecretValues(found);
  }

  /**
   * Settings that are not secrets, for the NixOS config ferry cannot edit: everything in the env
   * file except secrets, credentials and what the NixOS module sets itself. Empty on NixOS, where
   * they already live in the declarative config.
   */
  public Map<String, String> settings() throws IOException {
    Map<String, String> settings = new LinkedHashMap<>();
    Optional<Path> env = envFile();
    if (env.isEmpty()) {
      return settings;
    }
    EnvFile.read(env.get()).forEach((key, value) -> {
      if (NixSnippet.isPortableSetting(key)) {
        settings.put(key, value);
      }
    });
    return settings;
  }

  /** Names of credentials in the env file that ferry does not copy (the user must carry them). */
  public java.util.List<String> uncopiedCredentials() throws IOException {
    Optional<Path> env = envFile();
    if (env.isEmpty()) {
      return java.util.List.of();
    }
    return EnvFile.read(env.get()).keySet().stream().filter(NixSnippet::isCredential).toList();
  }

  private Optional<Path> envFile() {
    // A NixOS layout keeps its secrets in files, whatever else is configured.
    if (layout.kind() == LayoutKind.NIXOS && layout.secretsDir().isPresent()) {
      return Optional.empty();
    }
    if (layout.envFile().isPresent() && !Files.isRegularFile(layout.envFile().get())) {
      throw new IllegalStateException("no env file at " + layout.envFile().get());
    }
    return layout.envFile();
  }
}
