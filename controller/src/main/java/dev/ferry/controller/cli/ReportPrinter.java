package dev.ferry.controller.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.ferry.controller.format.Sizes;
import dev.ferry.controller.migration.Journal;
import dev.ferry.controller.migration.Report;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Prints a migration's report as a table or JSON, and keeps report.json and timeline.svg beside the journal. */
final class ReportPrinter {
  private ReportPrinter() {}

  static void write(Journal journal, PrintWriter out, boolean json) throws IOException {
    Path svg = save(journal);
    Report report = new Report(journal);
    if (json) {
      out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(toJson(journal, report, svg)));
      out.flush();
      return;
    }
    Table table = new Table("STEP", "STATE", "START", "DURATION", "FILES", "BYTES", "RATE", "DETAIL");
    for (Report.Row row : report.rows()) {
      table.row(
          row.step().label(),
          row.state().name().toLowerCase(java.util.Locale.ROOT),
          row.start() == null ? "" : row.start().toString().substring(11, 19),
          Report.seconds(row.duration()),
          row.files() == 0 ? "" : Sizes.count(row.files()),
          row.bytes() == 0 ? "" : Sizes.bytes(row.bytes()),
          row.rate(),
          row.detail().length() > 90 ? row.detail().substring(0, 87) + "..." : row.detail());
    }
    out.println("migration " + journal.id() + ": " + journal.outcome());
    table.print(out);
    out.println("downtime: " + report.downtime().map(Report::seconds).orElse("not over (the target is not answering yet)"));
    out.println("timeline: " + svg);
    out.println("journal:  " + journal.dir().resolve("journal.json"));
    out.flush();
  }

  /** Writes report.json and timeline.svg next to the journal; returns the SVG's path. */
  static Path save(Journal journal) throws IOException {
    Report report = new Report(journal);
    Path svg = journal.dir().resolve("timeline.svg");
    Files.writeString(svg, report.svg());
    Files.writeString(journal.dir().resolve("report.json"),
        new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(toJson(journal, report, svg)) + "\n");
    return svg;
  }

  static JsonObject toJson(Journal journal, Report report, Path svg) {
    JsonObject root = new JsonObject();
    root.addProperty("id", journal.id());
    root.addProperty("from", journal.from());
    root.addProperty("to", journal.to());
    root.addProperty("outcome", journal.outcome());
    report.downtime().ifPresent(d -> root.addProperty("downtime_seconds", d.toMillis() / 1000.0));
    root.addProperty("downtime_started_at", journal.downtimeStartedAt());
    root.addProperty("downtime_ended_at", journal.downtimeEndedAt());
    JsonArray steps = new JsonArray();
    for (Report.Row row : report.rows()) {
      JsonObject s = new JsonObject();
      s.addProperty("step", row.step().name().toLowerCase(java.util.Locale.ROOT));
      s.addProperty("label", row.step().label());
      s.addProperty("state", row.state().name().toLowerCase(java.util.Locale.ROOT));
      s.addProperty("started_at", row.start() == null ? "" : row.start().toString());
      s.addProperty("duration_seconds", row.duration() == null ? 0 : row.duration().toMillis() / 1000.0);
      s.addProperty("files", row.files());
      s.addProperty("bytes", row.bytes());
      s.addProperty("during_downtime", row.step().duringDowntime());
      s.addProperty("detail", row.detail());
      steps.add(s);
    }
    root.add("steps", steps);
    root.addProperty("timeline_svg", svg.toString());
    return root;
  }
}
