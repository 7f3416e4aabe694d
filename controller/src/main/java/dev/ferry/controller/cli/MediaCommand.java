package dev.ferry.controller.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.ferry.common.identity.Identity;
import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.MediaClient;
import dev.ferry.controller.client.MediaSyncOptions;
import dev.ferry.controller.client.MediaSyncReport;
import dev.ferry.controller.format.Sizes;
import dev.ferry.controller.format.Terminal;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry media sync --from A --to B [--dry-run] [--exclude-cache] [--delete] [--json]}. */
@Command(
    name = "media",
    mixinStandardHelpOptions = true,
    description = "Copy Mastodon's media (public/system) between paired hosts.",
    subcommands = {MediaCommand.Sync.class})
public final class MediaCommand extends CommandGroup {

  /** The sync itself. */
  @Command(
      name = "sync",
      mixinStandardHelpOptions = true,
      description = {
        "Make the target's media root match the source's. The target agent pulls straight from",
        "the source agent with a short-lived ticket; nothing passes through this machine.",
        "Only missing or changed files (size or mtime) are sent; each is checked against the",
        "source's SHA-256 before it appears under its real name. A cut sync resumes when run again."
      })
  public static final class Sync implements Callable<Integer> {
    @CommandLine.Mixin HostPair hosts;

    @Option(names = "--dry-run", description = "Show what would be sent and deleted; change nothing.")
    boolean dryRun;

    @Option(names = "--exclude-cache", description = "Do not copy cache/ (remote media); prints the tootctl commands that rebuild it.")
    boolean excludeCache;

    @Option(names = "--delete", description = "Delete target files that the source does not have.")
    boolean delete;

    @Option(names = "--json", description = "Print one JSON document on stdout.")
    boolean json;

    @Spec CommandLine.Model.CommandSpec spec;

    private final ControllerHome home;

    public Sync(ControllerHome home) {
      this.home = home;
    }

    @Override
    public Integer call() throws Exception {
      PrintWriter err = spec.commandLine().getErr();
      HostPair.Resolved pair = hosts.resolve(home);
      PairedHost target = pair.target();
      Identity identity = home.identity();
      PeerSource peer = pair.ticket(identity, "media-sync", Operation.OPERATION_READ_MEDIA);
      MediaSyncOptions options = new MediaSyncOptions(dryRun, excludeCache, delete);
      // Progress only for a person watching: never into a pipe or a log.
      ProgressLine line = Terminal.stderrIsTerminal() ? new ProgressLine(err) : null;
      MediaSyncReport report;
      try (AgentClient client = AgentClient.connect(target, identity)) {
        report = new MediaClient().sync(client, peer, options, p -> {
          if (line != null) {
            line.show(p.describe());
          }
        });
      } catch (AgentException e) {
        if (line != null) {
          line.clear();
        }
        if (json) {
          JsonObject failure = new JsonObject();
          failure.addProperty("error", e.getMessage());
          failure.addProperty("code", e.code());
          spec.commandLine().getOut().println(gson().toJson(failure));
          spec.commandLine().getOut().flush();
        }
        err.println("ferry: media sync " + hosts.from() + " -> " + hosts.to() + " failed: " + e.getMessage());
        return ExitCodes.FAILED;
      }
      if (line != null) {
        line.clear();
      }
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(gson().toJson(toJson(report)));
      } else {
        printHuman(report, out);
      }
      out.flush();
      return ExitCodes.OK;
    }

    private void printHuman(MediaSyncReport r, PrintWriter out) {
      out.println((r.dryRun() ? "Dry run: nothing was changed. " : "") + "Media " + hosts.from() + " -> " + hosts.to());
      Table table = new Table("", "FILES", "BYTES");
      table.row("scanned", Sizes.count(r.filesScanned()), "");
      table.row(r.dryRun() ? "would send" : "sent", Sizes.count(r.filesSent()), Sizes.bytes(r.bytesSent()));
      table.row("up to date", Sizes.count(r.filesSkipped()), Sizes.bytes(r.bytesSkipped()));
      if (r.filesResumed() > 0) {
        table.row("resumed", Sizes.count(r.filesResumed()), Sizes.bytes(r.bytesResumed()) + " not re-sent");
      }
      table.row(r.dryRun() ? "would delete" : "deleted", delete ? Sizes.count(r.filesDeleted()) : "- (no --delete)", "");
      table.row("refused", Sizes.count(r.refusals().size()), "");
      table.print(out);
      long millis = r.elapsed().toMillis();
      out.println(String.format(Locale.ROOT, "elapsed %.1f s%s", millis / 1000.0,
          millis > 0 && r.bytesSent() > 0 ? ", " + Sizes.bytes(r.bytesSent() * 1000 / millis) + "/s" : ""));
      for (String refusal : r.refusals()) {
        out.println("refused: " + refusal);
      }
      if (excludeCache) {
        out.println();
        out.println("cache/ was not copied. Once the target runs, rebuild it with (NixOS: mastodon-tootctl):");
        MediaClient.CACHE_REBUILD_COMMANDS.forEach(c -> out.println("  " + c));
      }
    }

    private JsonObject toJson(MediaSyncReport r) {
      JsonObject o = new JsonObject();
      o.addProperty("from", hosts.from());
      o.addProperty("to", hosts.to());
      o.addProperty("dry_run", r.dryRun());
      o.addProperty("files_scanned", r.filesScanned());
      o.addProperty("files_sent", r.filesSent());
      o.addProperty("files_skipped", r.filesSkipped());
      o.addProperty("files_deleted", r.filesDeleted());
      o.addProperty("bytes_sent", r.bytesSent());
      o.addProperty("bytes_skipped", r.bytesSkipped());
      o.addProperty("files_resumed", r.filesResumed());
      o.addProperty("bytes_resumed", r.bytesResumed());
      o.addProperty("directories_created", r.directoriesCreated());
      o.addProperty("elapsed_millis", r.elapsed().toMillis());
      JsonArray refusals = new JsonArray();
      r.refusals().forEach(refusals::add);
      o.add("refusals", refusals);
      JsonArray rebuild = new JsonArray();
      if (excludeCache) {
        MediaClient.CACHE_REBUILD_COMMANDS.forEach(rebuild::add);
      }
      o.add("cache_rebuild_commands", rebuild);
      return o;
    }

    private static com.google.gson.Gson gson() {
      return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    }
  }
}
