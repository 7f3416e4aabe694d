package dev.ferry.controller.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.ferry.common.identity.Identity;
import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.DatabaseClient;
import dev.ferry.controller.client.DbCopyOptions;
import dev.ferry.controller.client.DbCopyRefusedException;
import dev.ferry.controller.client.DbCopyReport;
import dev.ferry.controller.client.DbProblem;
import dev.ferry.controller.client.DbProgress;
import dev.ferry.controller.format.Sizes;
import dev.ferry.controller.format.Terminal;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry db ...}: the database. */
@Command(
    name = "db",
    mixinStandardHelpOptions = true,
    description = "Copy the Mastodon database between paired hosts.",
    subcommands = {DbCommand.Copy.class})
public final class DbCommand extends CommandGroup {

  /** {@code ferry db copy --from A --to B [--jobs N] [--yes] [--json]}. */
  @Command(
      name = "copy",
      mixinStandardHelpOptions = true,
      description = {
        "Stream pg_dump on the source straight into pg_restore on the target, peer to peer,",
        "into a staging database; verify every table's row count and every sequence; then",
        "rename the target's database aside (never dropped) and the staging one into its place.",
        "Refused before anything changes if the versions, roles or disk do not fit."
      },
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:copied and verified", "1:failed (the real target database is untouched)", "2:usage error",
          "3:refused by preflight (nothing was changed)"})
  public static final class Copy implements Callable<Integer> {
    @CommandLine.Mixin HostPair hosts;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1",
        description = "Parallel restore jobs (default 1: streamed, no file). More spools the archive on the target first.")
    int jobs;

    @Option(names = "--yes", description = "Copy even though Mastodon units are still active.")
    boolean yes;

    @Option(names = "--json", description = "Print one JSON document on stdout.")
    boolean json;

    @Spec CommandLine.Model.CommandSpec spec;

    private final ControllerHome home;

    public Copy(ControllerHome home) {
      this.home = home;
    }

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      DbCopyOptions options;
      try {
        options = new DbCopyOptions(jobs, yes);
      } catch (IllegalArgumentException e) {
        err.println("ferry: " + e.getMessage());
        return ExitCodes.USAGE;
      }
      HostPair.Resolved pair = hosts.resolve(home);
      Identity identity = home.identity();
      DatabaseClient database = new DatabaseClient();
      JsonObject doc = new JsonObject();
      doc.addProperty("from", hosts.from());
      doc.addProperty("to", hosts.to());
      // The target runs the preflight on both sides itself, before it changes anything, and
      // answers a refusal instead of copying; asking separately first would only run it twice.
      // So this connects to the target alone: the source is reached by the target, with a ticket.
      try (AgentClient targetClient = AgentClient.connect(pair.target(), identity).connectNow()) {
        PeerSource peer = pair.ticket(identity, "db-copy", Operation.OPERATION_DUMP_DATABASE);
        boolean terminal = Terminal.stderrIsTerminal();
        AtomicBoolean warned = new AtomicBoolean();
        DbCopyReport report = database.copy(targetClient, peer, options, terminal ? progressLine(err, warned) : p -> { });
        if (terminal) {
          err.println();
        }
        doc.add("preflight", problems(report.warnings()));
        doc.add("summary", summary(report));
        if (!json) {
          if (!warned.get()) {
            // Not shown while copying (no terminal, or the progress message was dropped).
            printProblems(report.warnings(), err);
          }
          printReport(report, out);
        }
        return finish(doc, "ok", "", ExitCodes.OK, out, err);
      } catch (DbCopyRefusedException e) {
        doc.add("preflight", problems(e.problems()));
        if (!json) {
          printProblems(e.problems(), err);
        }
        return finish(doc, "refused", "refused by preflight; nothing was changed", ExitCodes.REFUSED_BY_PREFLIGHT, out, err);
      } catch (AgentException e) {
        doc.addProperty("error_code", e.code());
        return finish(doc, "failed", e.getMessage(), ExitCodes.FAILED, out, err);
      }
    }

    private int finish(JsonObject doc, String result, String message, int code, PrintWriter out, PrintWriter err) {
      if (json) {
        doc.addProperty("result", result);
        if (!message.isEmpty()) {
          doc.addProperty("message", message);
        }
        out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(doc));
      } else if (!message.isEmpty()) {
        err.println("ferry: " + message);
      }
      out.flush();
      err.flush();
      return code;
    }

    /** @param warned set once the preflight's warnings were shown (the target sends them first) */
    private static Consumer<DbProgress> progressLine(PrintWriter err, AtomicBoolean warned) {
      ProgressLine line = new ProgressLine(err);
      return p -> {
        if (p.phase().equals("preflight") && !p.note().isEmpty()) {
          warned.set(true);
        }
        line.show(p.describe());
        if (!p.note().isEmpty()) {
          err.print("\n" + p.note() + "\n");
          err.flush();
        }
      };
    }

    private static void printProblems(List<DbProblem> problems, PrintWriter err) {
      for (DbProblem p : problems) {
        String label =
            switch (p.severity()) {
              case WARNING -> "warning";
              case NEEDS_CONFIRMATION -> "needs --yes";
              case REFUSAL -> "refused";
            };
        err.println(label + " (" + p.side() + ", " + p.code() + "): " + p.message());
      }
    }

    private static void printReport(DbCopyReport r, PrintWriter out) {
      out.println("copied and verified " + r.databaseName() + ": " + Sizes.bytes(r.bytesStreamed()) + " streamed, "
          + r.tablesVerified() + " tables, " + r.rowsVerified() + " rows, " + r.sequencesVerified() + " sequences");
      out.println(String.format(Locale.ROOT, "  stream %.1f s, restore %.1f s, verify %.1f s, swap %.1f s, total %.1f s%s",
          r.streamMillis() / 1000.0, r.restoreMillis() / 1000.0, r.verifyMillis() / 1000.0, r.swapMillis() / 1000.0,
          r.totalMillis() / 1000.0, r.jobs() > 1 ? " (" + r.jobs() + " restore jobs)" : ""));
      if (r.removedLeftoverStaging()) {
        out.println("  removed the staging database an earlier, cut run had left");
      }
      r.renamedAsideTo().ifPresent(aside -> out.println("  the old database was renamed aside to " + aside));
      if (!r.dropHint().isEmpty()) {
        out.println("  " + r.dropHint());
      }
    }

    private static JsonArray problems(List<DbProblem> problems) {
      JsonArray array = new JsonArray();
      for (DbProblem p : problems) {
        JsonObject o = new JsonObject();
        o.addProperty("severity", p.severity().name().toLowerCase(Locale.ROOT));
        o.addProperty("side", p.side());
        o.addProperty("code", p.code());
        o.addProperty("message", p.message());
        array.add(o);
      }
      return array;
    }

    private static JsonObject summary(DbCopyReport r) {
      JsonObject o = new JsonObject();
      o.addProperty("database", r.databaseName());
      o.addProperty("renamed_aside_to", r.renamedAsideTo().orElse(null));
      o.addProperty("bytes_streamed", r.bytesStreamed());
      o.addProperty("tables_verified", r.tablesVerified());
      o.addProperty("rows_verified", r.rowsVerified());
      o.addProperty("sequences_verified", r.sequencesVerified());
      o.addProperty("stream_millis", r.streamMillis());
      o.addProperty("restore_millis", r.restoreMillis());
      o.addProperty("verify_millis", r.verifyMillis());
      o.addProperty("swap_millis", r.swapMillis());
      o.addProperty("total_millis", r.totalMillis());
      o.addProperty("jobs", r.jobs());
      o.addProperty("removed_leftover_staging", r.removedLeftoverStaging());
      o.addProperty("drop_hint", r.dropHint());
      o.add("warnings", problems(r.warnings()));
      return o;
    }
  }
}
