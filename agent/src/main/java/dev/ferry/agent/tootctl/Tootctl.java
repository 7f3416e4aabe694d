package dev.ferry.agent.tootctl;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.io.IOException;
import java.nio.file.Path;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Runs allowlisted tootctl subcommands the way the layout expects: on NixOS through the module's
 * {@code mastodon-tootctl} wrapper (which switches user and loads the environment itself); on
 * Ubuntu as the Mastodon user with {@code RAILS_ENV=production} in the live directory. Output is
 * handed to a sink as it comes; a slow sink blocks the reader, and so, through the pipe, tootctl.
 */
public final class Tootctl {
  private static final Logger logger = Logger.getLogger(Tootctl.class.getName());

  /** The subcommands ferry runs: read-mostly maintenance a migration needs. */
  public static final Set<List<String>> ALLOWED =
      Set.of(
          List.of("feeds", "build"),
          List.of("media", "refresh"),
          List.of("accounts", "refresh"),
          List.of("search", "deploy"),
          List.of("cache", "clear"),
          List.of("media", "usage"));

  // Options and their values after the subcommand: no shell runs them, but keep them plain.
  private static final Pattern PLAIN_ARG = Pattern.compile("[A-Za-z0-9_.,:=@/+-]{1,200}");
  public static final Duration MAX_RUNTIME = Duration.ofHours(12);

  /** Receives output as it arrives; may block to apply back-pressure. */
  public interface OutputSink {
    void write(boolean stderr, byte[] data, int length) throws IOException;
  }

  private final Layout layout;
  private final ProcessRunner runner;

  public Tootctl(Layout layout, ProcessRunner runner) {
    this.layout = layout;
    this.runner = runner;
  }

  /** Checks the arguments against the allowlist; refuses anything else with a clear message. */
  public static void requireAllowed(List<String> args) throws TootctlNotAllowedException {
    if (args.size() < 2 || !ALLOWED.contains(args.subList(0, 2))) {
      throw new TootctlNotAllowedException(
          "tootctl " + (args.isEmpty() ? "(nothing)" : shown(args.subList(0, Math.min(2, args.size()))))
              + " is not allowed; ferry runs only: " + String.join(", ", ALLOWED.stream().map(a -> String.join(" ", a)).sorted().toList()));
    }
    for (String arg : args.subList(2, args.size())) {
      if (!PLAIN_ARG.matcher(arg).matches()) {
        throw new TootctlNotAllowedException("tootctl argument " + shown(List.of(arg)) + " has characters ferry does not pass on");
      }
    }
  }

  /** The argv that runs tootctl with {@code args} on this layout. */
  public List<String> argv(List<String> args) {
    List<String> command = new ArrayList<>();
    if (layout.kind() == LayoutKind.NIXOS) {
      command.addAll(layout.tootctl());
      command.addAll(args);
      return command;
    }
    Path home = layout.mastodonRoot().getParent();
    command.addAll(List.of("env", "-C", layout.mastodonRoot().toString(), "RAILS_ENV=production",
        "PATH=" + (home == null ? "" : home + "/.rbenv/shims:" + home + "/.rbenv/bin:") + "/usr/local/bin:/usr/bin:/bin"));
    command.addAll(layout.tootctl());
    command.addAll(args);
    return runner.asUser(layout.user(), command);
  }

  /** Runs tootctl, streaming its output to {@code sink}; returns its exit code. */
  public int run(List<String> args, OutputSink sink, Duration timeout)
      throws TootctlNotAllowedException, CommandFailedException, IOException {
    requireAllowed(args);
    List<String> argv = argv(args);
    logger.info("running tootctl " + String.join(" ", args));
    Process process = runner.start(argv, Map.of());
    process.getOutputStream().close();
    Thread err = new Thread(() -> pump(process.getErrorStream(), true, sink, process), "tootctl-stderr");
    err.setDaemon(true);
    err.start();
    pump(process.getInputStream(), false, sink, process);
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new CommandFailedException("tootctl " + String.join(" ", args) + " timed out after " + timeout.toMinutes() + " min");
      }
      err.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CommandFailedException("tootctl was interrupted");
    }
    int code = process.exitValue();
    logger.info("tootctl " + String.join(" ", args) + " exited " + code);
    return code;
  }

  private static void pump(InputStream in, boolean stderr, OutputSink sink, Process process) {
    byte[] buffer = new byte[16 * 1024];
    try (in) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (n > 0) {
          sink.write(stderr, buffer, n);
        }
      }
    } catch (IOException e) {
      // The receiver went away: stop tootctl rather than leave it writing into a full pipe.
      logger.warning("tootctl output could not be delivered (" + e.getMessage() + "); stopping it");
      process.descendants().forEach(ProcessHandle::destroy);
      process.destroy();
    }
  }

  private static String shown(List<String> args) {
    String joined = String.join(" ", args).replaceAll("[^\\x20-\\x7e]", "?");
    return "'" + (joined.length() > 60 ? joined.substring(0, 60) + "..." : joined) + "'";
  }
}
