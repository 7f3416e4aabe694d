package dev.ferry.agent.secrets;

import dev.ferry.agent.disk.DiskFull;
import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.settings.EnvFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Writes secret settings in the target layout's form. NixOS: one file per key under the secrets
 * directory, bare value, owner the Mastodon user, mode 0600. Ubuntu: the keys in {@code
 * .env.production}. A file about to change is first copied aside as {@code NAME.ferry-backup-TIME},
 * so no old value is ever lost. Only key names and actions are logged or returned.
 */
public final class SecretsTarget {
  private static final Logger logger = Logger.getLogger(SecretsTarget.class.getName());
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");

  /** What happened to one key. */
  public enum Action { WRITTEN, REPLACED, UNCHANGED, SKIPPED }

  /** @param detail why a key was skipped, or where its old value was backed up; never a value */
  public record KeyResult(String key, Action action, String detail) {}

  private final Layout layout;
  private final Clock clock;

  public SecretsTarget(Layout layout, Clock clock) {
    this.layout = layout;
    this.clock = clock;
  }

  public List<KeyResult> write(SecretValues secrets) throws IOException {
    if (layout.kind() == LayoutKind.NIXOS || (layout.envFile().isEmpty() && layout.secretsDir().isPresent())) {
      return writeNixos(secrets, layout.secretsDir().orElseThrow(
          () -> new IllegalStateException("the nixos layout has no secrets directory; set secrets.dir")));
    }
    return writeEnvFile(secrets, layout.envFile().orElseThrow(
        () -> new IllegalStateException("the " + layout.kind().label() + " layout has no env file; set mastodon.env_file")));
  }

  private List<KeyResult> writeNixos(SecretValues secrets, Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      chown(dir);
    }
    String stamp = STAMP.format(clock.instant());
    List<KeyResult> results = new ArrayList<>();
    for (String key : secrets.keys()) {
      Optional<String> name = SecretNames.nixosFile(key);
      if (name.isEmpty()) {
        results.add(new KeyResult(key, Action.SKIPPED, "the NixOS module has no file for it"));
        continue;
      }
      Path file = dir.resolve(name.get());
      String value = secrets.value(key);
      Action action = Action.WRITTEN;
      String detail = file.toString();
      if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
        if (Files.readString(file, StandardCharsets.UTF_8).strip().equals(value)) {
          fixOwnership(file);
          results.add(new KeyResult(key, Action.UNCHANGED, file.toString()));
          continue;
        }
        Path backup = backup(file, stamp);
        action = Action.REPLACED;
        detail = file + " (old value kept in " + backup.getFileName() + ")";
      }
      writeAtomically(file, value);
      logger.info("secret " + key + ": " + action.name().toLowerCase(java.util.Locale.ROOT) + " " + file);
      results.add(new KeyResult(key, action, detail));
    }
    return results;
  }

  private List<KeyResult> writeEnvFile(SecretValues secrets, Path file) throws IOException {
    List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : new ArrayList<>();
    Map<String, String> current = EnvFile.parse(lines);
    List<String> out = new ArrayList<>(lines);
    Map<String, KeyResult> results = new LinkedHashMap<>();
    for (String key : secrets.keys()) {
      String value = secrets.value(key);
      String line = key + "=" + envValue(value);
      if (value.equals(current.get(key))) {
        results.put(key, new KeyResult(key, Action.UNCHANGED, file.toString()));
        continue;
      }
      boolean replaced = false;
      for (int i = 0; i < out.size(); i++) {
        String stripped = out.get(i).strip();
        if (stripped.startsWith("export ")) {
          stripped = stripped.substring(7).strip();
        }
        if (stripped.startsWith(key + "=") || stripped.startsWith(key + " =")) {
          out.set(i, line);
          replaced = true;
        }
      }
      if (!replaced) {
        out.add(line);
      }
      results.put(key, new KeyResult(key, replaced ? Action.REPLACED : Action.WRITTEN, file.toString()));
    }
    boolean changed = results.values().stream().anyMatch(r -> r.action() != Action.UNCHANGED);
    if (changed) {
      if (Files.exists(file)) {
        Path backup = backup(file, STAMP.format(clock.instant()));
        results.replaceAll((k, r) -> r.action() == Action.REPLACED
            ? new KeyResult(k, r.action(), file + " (old file kept as " + backup.getFileName() + ")") : r);
      }
      writeAtomically(file, String.join("\n", out) + "\n");
      logger.info("secrets written to " + file + ": " + results.keySet());
    }
    return new ArrayList<>(results.values());
  }

  /** Dotenv quoting: bare when safe, else double quotes (EnvFile reads both back exactly). */
  private static String envValue(String value) {
    if (value.matches("[A-Za-z0-9_+/=.:,@-]*")) {
      return value;
    }
    if (value.contains("\"") || value.contains("\n") || value.contains("\\n")) {
      throw new IllegalArgumentException("a secret value has characters .env.production cannot hold safely; nothing was written");
    }
    return "\"" + value + "\"";
  }

  /** Copies {@code file} aside with its owner and mode; the backup is never overwritten. */
  private Path backup(Path file, String stamp) throws IOException {
    Path backup = file.resolveSibling(file.getFileName() + ".ferry-backup-" + stamp);
    for (int n = 1; Files.exists(backup, LinkOption.NOFOLLOW_LINKS); n++) {
      backup = file.resolveSibling(file.getFileName() + ".ferry-backup-" + stamp + "-" + n);
    }
    Files.copy(file, backup, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
    PosixFileAttributeView from = Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    PosixFileAttributeView to = Files.getFileAttributeView(backup, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    to.setOwner(from.getOwner());
    to.setGroup(from.readAttributes().group());
    return backup;
  }

  /** Temp file (0600, right owner) in the same directory, fsync, rename over the old one. */
  private void writeAtomically(Path file, String content) throws IOException {
    Path temp = Files.createTempFile(file.getParent(), "." + file.getFileName() + ".", ".tmp",
        PosixFilePermissions.asFileAttribute(OWNER_RW));
    try {
      // The directory is Mastodon's: never follow a symlink swapped in for the temp file.
      try (var channel = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
        channel.write(java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
        channel.force(true);
      } catch (IOException e) {
        // Names the file, never the value; the old file (if any) is still in place.
        throw DiskFull.explained(e, file.getParent(), file.getFileName().toString(), "nothing was replaced");
      }
      chown(temp);
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private void fixOwnership(Path file) throws IOException {
    Files.setPosixFilePermissions(file, OWNER_RW);
    chown(file);
  }

  private void chown(Path path) throws IOException {
    UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
    UserPrincipal user = lookup.lookupPrincipalByName(layout.user());
    GroupPrincipal group = lookup.lookupPrincipalByGroupName(layout.group());
    PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.setOwner(user);
    view.setGroup(group);
  }
}
