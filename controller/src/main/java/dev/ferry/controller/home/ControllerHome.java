package dev.ferry.controller.home;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.ferry.common.identity.Identity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The controller's state directory ({@code $FERRY_HOME}, default {@code ~/.config/ferry}): its
 * identity, the paired hosts and the migration journals. 0700.
 */
public final class ControllerHome {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

  private final Path dir;

  public ControllerHome(Path dir) {
    this.dir = dir;
  }

  public static ControllerHome fromEnvironment() {
    String configured = System.getenv("FERRY_HOME");
    if (configured != null && !configured.isBlank()) {
      return new ControllerHome(Path.of(configured));
    }
    return new ControllerHome(Path.of(System.getProperty("user.home"), ".config", "ferry"));
  }

  public Path dir() {
    return dir;
  }

  private void ensure() throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }

  public Identity identity() throws IOException {
    ensure();
    return Identity.loadOrCreate(dir.resolve("identity"), "ferry-controller");
  }

  public Path migrationsDir() {
    return dir.resolve("migrations");
  }

  private record HostsFile(List<PairedHost> hosts) {}

  public synchronized List<PairedHost> hosts() throws IOException {
    Path file = dir.resolve("hosts.json");
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      HostsFile parsed = GSON.fromJson(Files.readString(file), HostsFile.class);
      return parsed == null || parsed.hosts() == null ? List.of() : List.copyOf(parsed.hosts());
    } catch (JsonParseException e) {
      throw new IOException(file + " is not valid JSON: " + e.getMessage());
    }
  }

  public Optional<PairedHost> host(String name) throws IOException {
    return hosts().stream().filter(h -> h.name().equals(name)).findFirst();
  }

  /** The host called {@code name}, or an error that says how to pair it. */
  public PairedHost requireHost(String name) throws IOException, UnknownHostException {
    return host(name).orElseThrow(() -> new UnknownHostException(name));
  }

  /** Adds or replaces the host with the same name. */
  public synchronized void saveHost(PairedHost host) throws IOException {
    ensure();
    List<PairedHost> hosts = new ArrayList<>(hosts());
    hosts.removeIf(h -> h.name().equals(host.name()));
    hosts.add(host);
    Identity.writePrivate(dir.resolve("hosts.json"), GSON.toJson(new HostsFile(hosts)) + "\n");
  }

  /** A host name that was never paired. */
  public static final class UnknownHostException extends Exception {
    public UnknownHostException(String name) {
      super("no paired host called '" + name + "' (see 'ferry hosts'; pair it with 'ferry pair " + name + " HOST:PORT --code CODE')");
    }
  }
}
