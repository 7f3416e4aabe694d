package dev.ferry.controller.cli;

import dev.ferry.controller.format.Sizes;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.ferry.common.identity.Identity;
import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.DiskStatus;
import dev.ferry.proto.v1.HostStatus;
import dev.ferry.proto.v1.UnitStatus;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ferry status [NAME...] [--json]}. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Show what matters before a migration, per host: layout and paths, Mastodon and",
      "PostgreSQL versions, database size, media files and bytes, free disk, unit states."
    })
public final class StatusCommand implements Callable<Integer> {
  @Parameters(paramLabel = "NAME", arity = "0..*", description = "Paired hosts to ask (default: all).")
  List<String> names = new ArrayList<>();

  @Option(names = "--json", description = "Print one JSON document on stdout.")
  boolean json;

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public StatusCommand(ControllerHome home) {
    this.home = home;
  }

  /** One host's answer, or why there is none. */
  record Answer(PairedHost host, HostStatus status, String error) {}

  @Override
  public Integer call() throws Exception {
    List<PairedHost> hosts = new ArrayList<>();
    if (names.isEmpty()) {
      hosts.addAll(home.hosts());
    } else {
      for (String name : names) {
        hosts.add(home.requireHost(name));
      }
    }
    if (hosts.isEmpty()) {
      spec.commandLine().getErr().println("ferry: no paired hosts: run 'ferry pair NAME HOST:PORT --code CODE' first");
      return ExitCodes.USAGE;
    }
    Identity identity = home.identity();
    List<Answer> answers = new ArrayList<>();
    for (PairedHost host : hosts) {
      try (AgentClient client = AgentClient.connect(host, identity)) {
        answers.add(new Answer(host, client.status(), ""));
      } catch (AgentException e) {
        answers.add(new Answer(host, null, e.getMessage()));
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(toJson(answers)));
    } else {
      printHuman(answers, out);
    }
    out.flush();
    boolean failed = answers.stream().anyMatch(a -> a.status() == null);
    if (failed && !json) {
      answers.stream().filter(a -> a.status() == null)
          .forEach(a -> spec.commandLine().getErr().println("ferry: " + a.error()));
    }
    return failed ? ExitCodes.FAILED : ExitCodes.OK;
  }

  static String layout(HostStatus status) {
    return status.getLayout().name().replace("LAYOUT_KIND_", "").toLowerCase(Locale.ROOT);
  }

  private static String orDash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static void printHuman(List<Answer> answers, PrintWriter out) {
    Table summary = new Table("HOST", "LAYOUT", "MASTODON", "POSTGRES server/pg_dump/pg_restore", "DATABASE", "MEDIA");
    for (Answer a : answers) {
      if (a.status() == null) {
        summary.row(a.host().name(), "unreachable", "", "", "", "");
        continue;
      }
      HostStatus s = a.status();
      summary.row(
          a.host().name(),
          layout(s),
          orDash(s.getMastodonVersion()),
          orDash(s.getPostgres().getServerVersion()) + " / " + orDash(s.getPostgres().getPgDumpVersion())
              + " / " + orDash(s.getPostgres().getPgRestoreVersion()),
          s.getPostgres().getDatabaseSizeBytes() < 0
              ? s.getPostgres().getDatabaseName() + " (missing)"
              : s.getPostgres().getDatabaseName() + " " + Sizes.bytes(s.getPostgres().getDatabaseSizeBytes()),
          s.getMedia().getExists()
              ? Sizes.count(s.getMedia().getFiles()) + " files, " + Sizes.bytes(s.getMedia().getBytes())
              : "none");
    }
    summary.print(out);
    for (Answer a : answers) {
      out.println();
      if (a.status() == null) {
        out.println(a.host().name() + ": " + a.error());
        continue;
      }
      HostStatus s = a.status();
      out.println(a.host().name() + " — " + s.getHostname() + ", " + s.getOs() + " (agent " + s.getAgentVersion() + ")");
      out.println("  domain:      " + orDash(s.getLocalDomain())
          + (s.getWebDomain().isEmpty() || s.getWebDomain().equals(s.getLocalDomain()) ? "" : " (web " + s.getWebDomain() + ")"));
      out.println("  mastodon:    " + s.getPaths().getMastodonRoot() + " (user " + s.getPaths().getMastodonUser() + ")");
      out.println("  media root:  " + s.getMedia().getRoot() + (s.getMedia().getError().isEmpty() ? "" : " (" + s.getMedia().getError() + ")"));
      if (!s.getPaths().getEnvFile().isEmpty()) {
        out.println("  env file:    " + s.getPaths().getEnvFile());
      }
      if (!s.getPaths().getSecretsDir().isEmpty()) {
        out.println("  secrets:     " + s.getPaths().getSecretsDir());
      }
      if (!s.getPostgres().getError().isEmpty()) {
        out.println("  postgres:    " + s.getPostgres().getError());
      }
      for (DiskStatus disk : s.getDisksList()) {
        out.println(String.format(Locale.ROOT, "  free disk:   %s free of %s (%s, %s)",
            Sizes.bytes(disk.getFreeBytes()), Sizes.bytes(disk.getTotalBytes()), disk.getPurpose(), disk.getPath()));
      }
      if (!s.getSystemdRunning()) {
        out.println("  units:       unknown: systemd is not running on this host");
      } else {
        for (UnitStatus unit : s.getUnitsList()) {
          out.println("  unit:        " + unit.getName() + " " + ("not-found".equals(unit.getLoadState())
              ? "not found" : unit.getActiveState() + " (" + unit.getSubState() + ")"));
        }
      }
      for (String warning : s.getWarningsList()) {
        out.println("  warning:     " + warning);
      }
    }
  }

  static JsonObject toJson(List<Answer> answers) {
    JsonArray hosts = new JsonArray();
    for (Answer a : answers) {
      JsonObject host = new JsonObject();
      host.addProperty("name", a.host().name());
      host.addProperty("address", a.host().address());
      host.addProperty("fingerprint", a.host().fingerprint());
      if (a.status() == null) {
        host.addProperty("error", a.error());
        hosts.add(host);
        continue;
      }
      HostStatus s = a.status();
      host.addProperty("hostname", s.getHostname());
      host.addProperty("os", s.getOs());
      host.addProperty("layout", layout(s));
      host.addProperty("agent_version", s.getAgentVersion());
      host.addProperty("local_domain", s.getLocalDomain());
      host.addProperty("web_domain", s.getWebDomain());
      host.addProperty("protected_hardlinks", s.getProtectedHardlinks());
      JsonObject paths = new JsonObject();
      paths.addProperty("mastodon_root", s.getPaths().getMastodonRoot());
      paths.addProperty("media_root", s.getPaths().getMediaRoot());
      paths.addProperty("env_file", s.getPaths().getEnvFile());
      paths.addProperty("secrets_dir", s.getPaths().getSecretsDir());
      paths.addProperty("mastodon_user", s.getPaths().getMastodonUser());
      paths.addProperty("mastodon_group", s.getPaths().getMastodonGroup());
      paths.addProperty("redis_unit", s.getPaths().getRedisUnit());
      paths.addProperty("redis_dump", s.getPaths().getRedisDump());
      host.add("paths", paths);
      JsonObject mastodon = new JsonObject();
      mastodon.addProperty("version", s.getMastodonVersion());
      host.add("mastodon", mastodon);
      JsonObject postgres = new JsonObject();
      postgres.addProperty("server_version", s.getPostgres().getServerVersion());
      postgres.addProperty("pg_dump_version", s.getPostgres().getPgDumpVersion());
      postgres.addProperty("pg_restore_version", s.getPostgres().getPgRestoreVersion());
      postgres.addProperty("error", s.getPostgres().getError());
      host.add("postgres", postgres);
      JsonObject database = new JsonObject();
      database.addProperty("name", s.getPostgres().getDatabaseName());
      database.addProperty("size_bytes", s.getPostgres().getDatabaseSizeBytes());
      host.add("database", database);
      JsonObject media = new JsonObject();
      media.addProperty("root", s.getMedia().getRoot());
      media.addProperty("exists", s.getMedia().getExists());
      media.addProperty("files", s.getMedia().getFiles());
      media.addProperty("bytes", s.getMedia().getBytes());
      media.addProperty("error", s.getMedia().getError());
      host.add("media", media);
      JsonArray disks = new JsonArray();
      for (DiskStatus disk : s.getDisksList()) {
        JsonObject d = new JsonObject();
        d.addProperty("purpose", disk.getPurpose());
        d.addProperty("path", disk.getPath());
        d.addProperty("free_bytes", disk.getFreeBytes());
        d.addProperty("total_bytes", disk.getTotalBytes());
        disks.add(d);
      }
      host.add("disks", disks);
      JsonObject systemd = new JsonObject();
      systemd.addProperty("running", s.getSystemdRunning());
      host.add("systemd", systemd);
      JsonArray units = new JsonArray();
      for (UnitStatus unit : s.getUnitsList()) {
        JsonObject u = new JsonObject();
        u.addProperty("name", unit.getName());
        u.addProperty("active_state", unit.getActiveState());
        u.addProperty("sub_state", unit.getSubState());
        u.addProperty("load_state", unit.getLoadState());
        units.add(u);
      }
      host.add("units", units);
      JsonArray warnings = new JsonArray();
      s.getWarningsList().forEach(warnings::add);
      host.add("warnings", warnings);
      hosts.add(host);
    }
    JsonObject root = new JsonObject();
    root.add("hosts", hosts);
    return root;
  }
}
