package dev.ferry.controller.migration;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The record of one migration in {@code $FERRY_HOME/migrations/<id>/journal.json}: each step's
 * state, times and figures. Written atomically after every change, so a crash of the
 * controller leaves the last completed step on disk for {@code --resume}. Holds no secrets.
 */
public final class Journal {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  /** A step's state. */
  public enum State { PENDING, RUNNING, DONE, SKIPPED, FAILED }

  /** One step's entry. Times are ISO-8601; empty until set. */
  public static final class Entry {
    public State state = State.PENDING;
    public String startedAt = "";
    public String finishedAt = "";
    public long files;
    public long bytes;
    public String detail = "";
  }

  /** The serialized form. */
  static final class Data {
    String id;
    String from;
    String to;
    String createdAt;
    boolean withRedis;
    boolean excludeCache;
    String downtimeStartedAt = "";
    String downtimeEndedAt = "";
    String outcome = "running";
    /**
     * Whether the target's database already had the source's rows and sequences before the first
     * copy attempt (e.g. a copy from an earlier, rolled-back migration). Then equal counts on a
     * resume prove nothing about this attempt, and the copy runs again.
     */
    boolean targetMatchedBeforeCopy;
    Map<StepName, Entry> steps = new EnumMap<>(StepName.class);
  }

  private final Path dir;
  private final Data data;

  private Journal(Path dir, Data data) {
    this.dir = dir;
    this.data = data;
  }

  public static Journal create(Path migrationsDir, String from, String to, boolean withRedis, boolean excludeCache)
      throws IOException {
    Instant now = Instant.now();
    String id = now.toString().replaceAll("[:.]", "").replace("T", "-").substring(0, 17) + "-" + from + "-to-" + to;
    Data data = new Data();
    data.id = id;
    data.from = from;
    data.to = to;
    data.createdAt = now.toString();
    data.withRedis = withRedis;
    data.excludeCache = excludeCache;
    for (StepName step : StepName.values()) {
      data.steps.put(step, new Entry());
    }
    Journal journal = new Journal(migrationsDir.resolve(id), data);
    Files.createDirectories(journal.dir);
    journal.save();
    return journal;
  }

  public static Journal load(Path dir) throws IOException {
    try {
      Data data = GSON.fromJson(Files.readString(dir.resolve("journal.json")), Data.class);
      for (StepName step : StepName.values()) {
        data.steps.putIfAbsent(step, new Entry());
      }
      return new Journal(dir, data);
    } catch (JsonParseException e) {
      throw new IOException(dir.resolve("journal.json") + " is damaged: " + e.getMessage());
    }
  }

  /** The newest migration from {@code from} to {@code to} that did not finish, if any. */
  public static Optional<Journal> unfinished(Path migrationsDir, String from, String to) throws IOException {
    if (!Files.isDirectory(migrationsDir)) {
      return Optional.empty();
    }
    List<Journal> found = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(migrationsDir)) {
      for (Path dir : dirs) {
        if (Files.exists(dir.resolve("journal.json"))) {
          Journal journal = load(dir);
          if (journal.data.from.equals(from) && journal.data.to.equals(to) && !journal.finished()) {
            found.add(journal);
          }
        }
      }
    }
    return found.stream().max(Comparator.comparing(j -> j.data.createdAt));
  }

  public String id() {
    return data.id;
  }

  public Path dir() {
    return dir;
  }

  public String from() {
    return data.from;
  }

  public String to() {
    return data.to;
  }

  public boolean withRedis() {
    return data.withRedis;
  }

  public boolean excludeCache() {
    return data.excludeCache;
  }

  public Entry entry(StepName step) {
    return data.steps.get(step);
  }

  public boolean finished() {
    return !"running".equals(data.outcome);
  }

  public String outcome() {
    return data.outcome;
  }

  public String downtimeStartedAt() {
    return data.downtimeStartedAt;
  }

  public String downtimeEndedAt() {
    return data.downtimeEndedAt;
  }

  public synchronized void started(StepName step) throws IOException {
    Entry entry = entry(step);
    entry.state = State.RUNNING;
    entry.startedAt = Instant.now().toString();
    entry.finishedAt = "";
    save();
  }

  public synchronized void finished(StepName step, StepResult result) throws IOException {
    Entry entry = entry(step);
    entry.state = result.skipped() ? State.SKIPPED : State.DONE;
    entry.finishedAt = Instant.now().toString();
    entry.files = result.files();
    entry.bytes = result.bytes();
    entry.detail = result.detail();
    save();
  }

  public synchronized void failed(StepName step, String why) throws IOException {
    Entry entry = entry(step);
    entry.state = State.FAILED;
    entry.finishedAt = Instant.now().toString();
    entry.detail = why;
    save();
  }

  public boolean targetMatchedBeforeCopy() {
    return data.targetMatchedBeforeCopy;
  }

  public synchronized void targetMatchedBeforeCopy(boolean matched) throws IOException {
    data.targetMatchedBeforeCopy = matched;
    save();
  }

  public synchronized void downtimeStarted(Instant at) throws IOException {
    if (data.downtimeStartedAt.isEmpty()) {
      data.downtimeStartedAt = at.toString();
      save();
    }
  }

  public synchronized void downtimeEnded(Instant at) throws IOException {
    data.downtimeEndedAt = at.toString();
    save();
  }

  public synchronized void outcome(String outcome) throws IOException {
    data.outcome = outcome;
    save();
  }

  public String toJson() {
    return GSON.toJson(data);
  }

  private void save() throws IOException {
    Path tmp = dir.resolve("journal.json.tmp");
    Files.writeString(tmp, toJson());
    try (var channel = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    Files.move(tmp, dir.resolve("journal.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
