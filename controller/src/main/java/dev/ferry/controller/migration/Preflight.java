package dev.ferry.controller.migration;

import static dev.ferry.controller.format.Sizes.bytes;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The checks that must all pass before anything is stopped (design.md section 5, step 1). Pure
 * logic over {@link HostFacts}: easy to test, and the same for {@code plan} and {@code migrate}.
 */
public final class Preflight {
  /** Room to leave on the target beyond what is copied. */
  static final double DISK_MARGIN = 0.10;

  static final long DISK_MARGIN_MIN = 256L * 1024 * 1024;

  /** Secrets without which the instance breaks (logins, 2FA, push); AR keys only exist from 4.3. */
  static final Set<String> REQUIRED_SECRETS = Set.of("SECRET_KEY_BASE", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY");

  private Preflight() {}

  public static List<Check> run(HostFacts source, HostFacts target, boolean excludeCache) {
    List<Check> checks = new ArrayList<>();
    checks.add(domain(source, target));
    checks.addAll(postgres(source, target));
    checks.add(mastodonVersion(source, target));
    checks.add(disk(source, target));
    checks.add(secrets(source));
    checks.addAll(units(source));
    checks.addAll(units(target));
    checks.add(hardlinks(source));
    checks.add(hardlinks(target));
    checks.add(targetDatabase(target));
    return checks;
  }

  public static boolean passed(List<Check> checks) {
    return checks.stream().allMatch(Check::passed);
  }

  static Check domain(HostFacts source, HostFacts target) {
    String name = "same LOCAL_DOMAIN/WEB_DOMAIN";
    if (source.localDomain().isEmpty()) {
      return Check.fail(name, "the source's LOCAL_DOMAIN was not found",
          "check the source agent's mastodon.env_file (or its .env.production)");
    }
    if (!source.localDomain().equals(target.localDomain())) {
      return Check.fail(name,
          "source " + source.localDomain() + ", target " + (target.localDomain().isEmpty() ? "(unset)" : target.localDomain()),
          "set services.mastodon.localDomain = \"" + source.localDomain() + "\" on the target: the domain cannot change");
    }
    if (!source.webDomain().equals(target.webDomain())) {
      return Check.fail(name, "WEB_DOMAIN differs: source " + source.webDomain() + ", target " + target.webDomain(),
          "set WEB_DOMAIN on the target to " + source.webDomain());
    }
    return Check.pass(name, source.localDomain());
  }

  static List<Check> postgres(HostFacts source, HostFacts target) {
    List<Check> checks = new ArrayList<>();
    String tools = "pg_restore (target) >= pg_dump (source)";
    if (source.pgDumpMajor() == 0 || target.pgRestoreMajor() == 0) {
      checks.add(Check.fail(tools, "pg_dump or pg_restore was not found",
          "install the PostgreSQL client tools on both hosts (or set pg.bindir in the agent config)"));
    } else if (target.pgRestoreMajor() < source.pgDumpMajor()) {
      checks.add(Check.fail(tools,
          "target pg_restore " + target.pgRestoreMajor() + " is older than source pg_dump " + source.pgDumpMajor(),
          "install PostgreSQL " + source.pgDumpMajor() + "+ client tools on the target, or point the source's pg.bindir at major "
              + target.pgRestoreMajor() + " tools if they can read the server"));
    } else {
      checks.add(Check.pass(tools, source.pgDumpMajor() + " -> " + target.pgRestoreMajor()));
    }
    String server = "pg_dump (source) >= source server";
    if (source.pgServerMajor() == 0) {
      checks.add(Check.fail(server, "the source's PostgreSQL server could not be reached",
          "start PostgreSQL on the source and check db.host/db.port in its agent config"));
    } else if (source.pgDumpMajor() < source.pgServerMajor()) {
      checks.add(Check.fail(server,
          "pg_dump " + source.pgDumpMajor() + " cannot dump a " + source.pgServerMajor() + " server",
          "install the PostgreSQL " + source.pgServerMajor() + " client tools on the source"));
    } else {
      checks.add(Check.pass(server, source.pgDumpMajor() + " >= " + source.pgServerMajor()));
    }
    if (target.pgServerMajor() == 0) {
      checks.add(Check.fail("target PostgreSQL server", "not reachable",
          "start PostgreSQL on the target (services.postgresql.enable) and check db.host in its agent config"));
    }
    return checks;
  }

  static Check mastodonVersion(HostFacts source, HostFacts target) {
    String name = "target Mastodon not older than source";
    if (source.mastodonVersion().isEmpty() || target.mastodonVersion().isEmpty()) {
      return Check.warn(name, "version unknown (source " + orUnknown(source.mastodonVersion()) + ", target "
              + orUnknown(target.mastodonVersion()) + ")",
          "make sure the target runs the same or a newer Mastodon; migrations only go forward");
    }
    if (Versions.compare(target.mastodonVersion(), source.mastodonVersion()) < 0) {
      return Check.fail(name, "target " + target.mastodonVersion() + " < source " + source.mastodonVersion(),
          "upgrade Mastodon on the target to " + source.mastodonVersion() + " or newer");
    }
    return Check.pass(name, source.mastodonVersion() + " -> " + target.mastodonVersion());
  }

  static Check disk(HostFacts source, HostFacts target) {
    String name = "disk space on the target";
    long mediaNeeded = Math.max(0, source.mediaBytes() - target.mediaBytes());
    long dbNeeded = Math.max(0, source.dbSizeBytes());
    long margin = Math.max(DISK_MARGIN_MIN, (long) ((mediaNeeded + dbNeeded) * DISK_MARGIN));
    if (target.mediaFreeBytes() < mediaNeeded + margin) {
      return Check.fail(name, "media needs " + bytes(mediaNeeded + margin) + ", " + bytes(target.mediaFreeBytes()) + " free",
          "free space on the target's media filesystem, or use --exclude-cache");
    }
    if (target.dbFreeBytes() < dbNeeded + margin) {
      return Check.fail(name, "database needs about " + bytes(dbNeeded + margin) + ", " + bytes(target.dbFreeBytes()) + " free",
          "free space on the target's PostgreSQL filesystem");
    }
    return Check.pass(name, bytes(mediaNeeded) + " media + " + bytes(dbNeeded) + " database fit");
  }

  static Check secrets(HostFacts source) {
    String name = "secrets present on the source";
    List<String> missing = REQUIRED_SECRETS.stream().filter(s -> !source.secretsPresent().contains(s)).sorted().toList();
    if (!missing.isEmpty()) {
      return Check.fail(name, "missing " + String.join(", ", missing),
          "the source's .env.production must hold them; without them users are logged out and push breaks");
    }
    return Check.pass(name, source.secretsPresent().size() + " secret settings found");
  }

  /**
   * Each agent refuses to move media, secrets or the Redis dump while the protection is off (see
   * the agent's HardlinkProtection), which a migration would otherwise meet only after stopping
   * the source.
   */
  static Check hardlinks(HostFacts host) {
    String name = host.name() + " hard-link protection";
    String fix = "run 'sysctl -w fs.protected_hardlinks=1' on " + host.name() + " and keep it in /etc/sysctl.d";
    return switch (host.protectedHardlinks()) {
      case "0" -> Check.fail(name,
          "fs.protected_hardlinks is 0: a local user could slip a hard link to any file into what ferry copies as root",
          fix);
      case "" -> Check.warn(name, "fs.protected_hardlinks could not be read", "make sure it is 1: " + fix);
      default -> Check.pass(name, "fs.protected_hardlinks = " + host.protectedHardlinks());
    };
  }

  static List<Check> units(HostFacts host) {
    if (!host.systemdRunning()) {
      return List.of(Check.warn(host.name() + " units", "systemd is not running there",
          "service steps on " + host.name() + " will be skipped"));
    }
    List<String> missing = host.units().stream().filter(u -> !u.exists()).map(HostFacts.Unit::name).toList();
    if (!missing.isEmpty()) {
      return List.of(Check.fail(host.name() + " units", "not found: " + String.join(", ", missing),
          "install and enable them, or set 'units' in that agent's config"));
    }
    return List.of(Check.pass(host.name() + " units", host.units().size() + " units present"));
  }

  static Check targetDatabase(HostFacts target) {
    String name = "target database";
    if (target.dbSizeBytes() < 0) {
      return Check.pass(name, target.dbName() + " does not exist yet");
    }
    return Check.warn(name, target.dbName() + " exists (" + bytes(target.dbSizeBytes()) + ")",
        "it will be renamed aside to " + target.dbName() + "_before_ferry_<time>, never dropped");
  }

  private static String orUnknown(String s) {
    return s.isEmpty() ? "unknown" : s;
  }
}
