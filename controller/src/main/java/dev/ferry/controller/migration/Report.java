package dev.ferry.controller.migration;

import static dev.ferry.controller.format.Sizes.bytes;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The end-of-migration report: per-step figures and the downtime, as rows and as an SVG timeline. */
public final class Report {
  /** One step's figures. Times are null for steps that never ran. */
  public record Row(StepName step, Journal.State state, Instant start, Duration duration, long files, long bytes, String detail) {
    public String rate() {
      if (duration == null || bytes == 0 || duration.toMillis() == 0) {
        return "";
      }
      return dev.ferry.controller.format.Sizes.bytes(bytes * 1000 / duration.toMillis()) + "/s";
    }
  }

  private final Journal journal;

  public Report(Journal journal) {
    this.journal = journal;
  }

  public List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    for (StepName step : StepName.values()) {
      Journal.Entry e = journal.entry(step);
      Instant start = e.startedAt.isEmpty() ? null : Instant.parse(e.startedAt);
      Instant end = e.finishedAt.isEmpty() ? null : Instant.parse(e.finishedAt);
      Duration duration = start != null && end != null ? Duration.between(start, end) : null;
      rows.add(new Row(step, e.state, start, duration, e.files, e.bytes, e.detail));
    }
    return rows;
  }

  /** From the source stopping to the target answering; empty while it is not over. */
  public java.util.Optional<Duration> downtime() {
    if (journal.downtimeStartedAt().isEmpty() || journal.downtimeEndedAt().isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        Duration.between(Instant.parse(journal.downtimeStartedAt()), Instant.parse(journal.downtimeEndedAt())));
  }

  public static String seconds(Duration d) {
    return d == null ? "" : String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
  }

  /** A timeline a person would rather look at than read: one bar per step, downtime shaded. */
  public String svg() {
    List<Row> rows = rows().stream().filter(r -> r.start() != null).toList();
    int width = 960;
    int left = 150;
    int barHeight = 22;
    int top = 50;
    int height = top + rows.size() * (barHeight + 8) + 60;
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"13\">%n",
        width, height));
    svg.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">ferry migration %s → %s</text>%n",
        escape(journal.from()), escape(journal.to())));
    if (rows.isEmpty()) {
      return svg.append("</svg>\n").toString();
    }
    Instant t0 = rows.get(0).start();
    Instant t1 = rows.stream().map(r -> r.duration() == null ? r.start() : r.start().plus(r.duration()))
        .max(Instant::compareTo).orElse(t0);
    double total = Math.max(1, Duration.between(t0, t1).toMillis());
    double scale = (width - left - 20) / total;
    if (!journal.downtimeStartedAt().isEmpty()) {
      Instant ds = Instant.parse(journal.downtimeStartedAt());
      Instant de = journal.downtimeEndedAt().isEmpty() ? t1 : Instant.parse(journal.downtimeEndedAt());
      double x = left + Duration.between(t0, ds).toMillis() * scale;
      double w = Math.max(1, Duration.between(ds, de).toMillis() * scale);
      svg.append(String.format(Locale.ROOT,
          "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fde2e1\"/>%n", x, top - 10, w, height - top - 30));
      svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" fill=\"#b42318\">downtime %s</text>%n",
          x + 4, top - 14, downtime().map(Report::seconds).orElse("(not ended)")));
    }
    int y = top;
    for (Row row : rows) {
      double x = left + Duration.between(t0, row.start()).toMillis() * scale;
      double w = Math.max(2, (row.duration() == null ? 0 : row.duration().toMillis()) * scale);
      String color = switch (row.state()) {
        case DONE -> row.step().duringDowntime() ? "#d92d20" : "#2e90fa";
        case SKIPPED -> "#98a2b3";
        case FAILED -> "#7a271a";
        default -> "#fdb022";
      };
      svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + 16, escape(row.step().label())));
      svg.append(String.format(Locale.ROOT,
          "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\"><title>%s</title></rect>%n",
          x, y, w, barHeight, color, escape(row.detail())));
      String label = (seconds(row.duration()) + " " + (row.bytes() > 0 ? bytes(row.bytes()) : "")).strip();
      // After the bar if it fits; else before it, so a label never covers a bar.
      boolean after = x + w + 4 + label.length() * 7 < width;
      svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"%s\">%s</text>%n",
          after ? x + w + 4 : x - 4, y + 15, after ? "start" : "end", escape(label)));
      y += barHeight + 8;
    }
    svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\" fill=\"#475467\">total %s; blue = no downtime, red = during downtime, grey = skipped</text>%n",
        height - 15, seconds(Duration.between(t0, t1))));
    return svg.append("</svg>\n").toString();
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
