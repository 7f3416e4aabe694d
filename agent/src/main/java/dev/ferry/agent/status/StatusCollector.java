package dev.ferry.agent.status;

import dev.ferry.agent.disk.HardlinkProtection;
import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.postgres.PgTools;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.services.Systemctl;
import dev.ferry.agent.services.UnitState;
import dev.ferry.agent.settings.EnvFile;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Gathers a {@link HostReport}. Each part that fails becomes a warning, never a failed call. */
public final class StatusCollector {
  private static final Pattern VERSION_RB_PART =
      Pattern.compile("def (major|minor|patch)\\s*\\n\\s*(\\d+)");
  private static final Pattern NIX_STORE_VERSION =
      Pattern.compile("/nix/store/[a-z0-9]{32}-mastodon-(\\d+\\.\\d+\\.\\d+[A-Za-z0-9.-]*)");

  private final Layout layout;
  private final PgTools pg;
  private final Systemctl systemctl;
  private final Path osRelease;
  private final String configuredDomain;
  private final HardlinkProtection links;

  /** @param configuredDomain the config's mastodon.local_domain, or empty */
  public StatusCollector(Layout layout, PgTools pg, Systemctl systemctl, String configuredDomain, HardlinkProtection links) {
    this(layout, pg, systemctl, Path.of("/etc/os-release"), configuredDomain, links);
  }

  StatusCollector(Layout layout, PgTools pg, Systemctl systemctl, Path osRelease, String configuredDomain,
      HardlinkProtection links) {
    this.links = links;
    this.layout = layout;
    this.pg = pg;
    this.systemctl = systemctl;
    this.osRelease = osRelease;
    this.configuredDomain = configuredDomain;
  }

  private final Object sharedLock = new Object();
  private java.util.concurrent.CompletableFuture<HostReport> inProgress;

  /**
   * Like {@link #collect}, but callers that arrive while a collection runs wait for it and share
   * its report instead of starting their own. A collection runs three processes (pg_dump and
   * pg_restore versions, psql) and walks the media root; fifty concurrent callers would
   * otherwise run fifty of each and starve a transfer running on the same agent.
   */
  public HostReport collectShared() {
    java.util.concurrent.CompletableFuture<HostReport> shared;
    boolean mine = false;
    synchronized (sharedLock) {
      if (inProgress == null) {
        inProgress = new java.util.concurrent.CompletableFuture<>();
        mine = true;
      }
      shared = inProgress;
    }
    if (mine) {
      try {
        shared.complete(collect());
      } catch (RuntimeException e) {
        shared.completeExceptionally(e);
      } finally {
        synchronized (sharedLock) {
          inProgress = null;
        }
      }
    }
    try {
      return shared.join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  public HostReport collect() {
    List<String> warnings = new ArrayList<>();
    Map<String, String> settings = settings(warnings);
    HostReport.Postgres postgres = postgres();
    boolean systemd = systemctl.isRunning();
    List<UnitState> units = systemd ? units(warnings) : List.of();
    if (!systemd) {
      warnings.add("systemd is not running on this host (not PID 1): unit states are unknown");
    }
    String hardlinks = links.value();
    if (HardlinkProtection.off(hardlinks)) {
      warnings.add(links.problem() + "; ferry refuses to move media, secrets or the Redis dump to or from here until then");
    }
    return new HostReport(
        hostname(),
        osName(),
        layout,
        mastodonVersion(),
        postgres,
        media(),
        disks(postgres),
        systemd,
        units,
        settings.getOrDefault("LOCAL_DOMAIN", ""),
        settings.getOrDefault("WEB_DOMAIN", settings.getOrDefault("LOCAL_DOMAIN", "")),
        hardlinks,
        warnings);
  }

  public static String hostname() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private String osName() {
    try {
      return EnvFile.read(osRelease).getOrDefault("PRETTY_NAME", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** The non-secret settings status needs (the domain); values that are secrets stay unread here. */
  private Map<String, String> settings(List<String> warnings) {
    if (!configuredDomain.isEmpty()) {
      return Map.of("LOCAL_DOMAIN", configuredDomain, "WEB_DOMAIN", configuredDomain);
    }
    Optional<Path> env = layout.envFile();
    if (env.isPresent() && Files.isReadable(env.get())) {
      try {
        Map<String, String> all = EnvFile.read(env.get());
        return Map.of(
            "LOCAL_DOMAIN", all.getOrDefault("LOCAL_DOMAIN", ""),
            "WEB_DOMAIN", all.getOrDefault("WEB_DOMAIN", all.getOrDefault("LOCAL_DOMAIN", "")));
      } catch (IOException e) {
        warnings.add("cannot read " + env.get() + ": " + e.getMessage());
      }
    }
    if (layout.kind() == LayoutKind.NIXOS && systemctl.isRunning()) {
      return NixosSettings.fromUnitEnvironment(systemctl, "mastodon-web");
    }
    return Map.of();
  }

  /** Ubuntu: lib/mastodon/version.rb. NixOS: the store path of the mastodon package. */
  String mastodonVersion() {
    Path versionRb = layout.mastodonRoot().resolve("lib/mastodon/version.rb");
    try {
      if (Files.isReadable(versionRb)) {
        Matcher m = VERSION_RB_PART.matcher(Files.readString(versionRb));
        String[] parts = new String[3];
        while (m.find()) {
          parts[switch (m.group(1)) { case "major" -> 0; case "minor" -> 1; default -> 2; }] = m.group(2);
        }
        if (parts[0] != null && parts[1] != null && parts[2] != null) {
          return parts[0] + "." + parts[1] + "." + parts[2];
        }
      }
      Path wrapper = Path.of("/run/current-system/sw/bin/mastodon-tootctl");
      if (layout.kind() == LayoutKind.NIXOS && Files.isReadable(wrapper)) {
        Matcher m = NIX_STORE_VERSION.matcher(Files.readString(wrapper));
        if (m.find()) {
          return m.group(1);
        }
      }
    } catch (IOException e) {
      // Unknown version.
    }
    return "";
  }

  private HostReport.Postgres postgres() {
    String db = layout.database().name();
    String dump = "";
    String restore = "";
    List<String> errors = new ArrayList<>();
    try {
      dump = pg.toolVersion("pg_dump");
      restore = pg.toolVersion("pg_restore");
    } catch (CommandFailedException e) {
      errors.add(e.getMessage());
    }
    String server = "";
    long size = -1;
    try {
      String out =
          pg.superuserQuery(
              "postgres",
              "SELECT current_setting('server_version'),"
                  + " (SELECT pg_database_size(datname) FROM pg_database WHERE datname = :'db');\n",
              Map.of("db", db));
      String[] fields = out.strip().split("\\|", -1);
      server = fields[0].replaceAll("\\s.*", "");
      size = fields.length > 1 && !fields[1].isEmpty() ? Long.parseLong(fields[1]) : -1;
      if (size < 0) {
        errors.add("database " + db + " does not exist");
      }
    } catch (CommandFailedException | NumberFormatException e) {
      errors.add("cannot query the server: " + e.getMessage());
    }
    return new HostReport.Postgres(server, dump, restore, db, size, String.join("; ", errors));
  }

  private HostReport.Media media() {
    Path root = layout.mediaRoot();
    if (!Files.isDirectory(root)) {
      return new HostReport.Media(root.toString(), false, 0, 0, "not found");
    }
    try {
      MediaCounter.Totals totals = MediaCounter.count(root);
      return new HostReport.Media(root.toString(), true, totals.files(), totals.bytes(), "");
    } catch (IOException e) {
      return new HostReport.Media(root.toString(), true, 0, 0, e.getMessage());
    }
  }

  private List<HostReport.Disk> disks(HostReport.Postgres postgres) {
    List<HostReport.Disk> disks = new ArrayList<>();
    disk("media", layout.mediaRoot()).ifPresent(disks::add);
    Path dataDir = layout.database().socketDir();
    if (postgres.error().isEmpty() || !postgres.serverVersion().isEmpty()) {
      try {
        String out = pg.superuserQuery("postgres", "SELECT current_setting('data_directory');\n", Map.of());
        dataDir = Path.of(out.strip());
      } catch (CommandFailedException | java.nio.file.InvalidPathException e) {
        // Fall back to the socket directory's filesystem.
      }
    }
    disk("database", dataDir).ifPresent(disks::add);
    return disks;
  }

  /** The filesystem of {@code path}, or of its nearest existing parent (the target may not have it yet). */
  static Optional<HostReport.Disk> disk(String purpose, Path path) {
    Path existing = path;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return Optional.empty();
    }
    try {
      FileStore store = Files.getFileStore(existing);
      return Optional.of(
          new HostReport.Disk(purpose, path.toString(), store.getUsableSpace(), store.getTotalSpace()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private List<UnitState> units(List<String> warnings) {
    Set<String> names = new LinkedHashSet<>(layout.units());
    try {
      names.addAll(systemctl.list("mastodon-"));
      names.add(layout.redisUnit());
      return systemctl.show(new ArrayList<>(names));
    } catch (CommandFailedException e) {
      warnings.add("cannot read unit states: " + e.getMessage());
      return List.of();
    }
  }
}
