package dev.ferry.agent.disk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's {@code fs.protected_hardlinks}, which every transfer of files between the hosts
 * depends on. The agent runs as root and reads and writes in directories that the Mastodon and
 * Redis users own. It never follows a symlink there, but a hard link is not a symlink: with the
 * protection off, either user can hard-link any file on the system ({@code /etc/shadow}, a root
 * key) into the media tree or in place of a temp file, and the agent would send its contents to
 * the other host, or write into it, or give it to that user by chown. With it on (the default of
 * Debian, Ubuntu and NixOS), a user can only link files they own or may read and write, which
 * gains them nothing.
 */
public final class HardlinkProtection {
  public static final Path SYSCTL = Path.of("/proc/sys/fs/protected_hardlinks");

  private final Path sysctl;
  private final String host;

  /** @param host this host's name, for errors a peer passes on to the controller */
  public HardlinkProtection(Path sysctl, String host) {
    this.sysctl = sysctl;
    this.host = host;
  }

  /** The setting as the kernel shows it ("1" or "0"), or empty if it cannot be read (no /proc). */
  public String value() {
    try {
      return Files.readString(sysctl).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** True only when the kernel says the protection is off; an unreadable setting is not refused. */
  public boolean off() {
    return off(value());
  }

  /** {@link #off()} for a {@link #value()} already read. */
  public static boolean off(String value) {
    return "0".equals(value);
  }

  /**
   * Refuses {@code what} (e.g. "send media") while the protection is off.
   *
   * @throws IllegalStateException with what to do about it; nothing has been read or written
   */
  public void require(String what) {
    if (off()) {
      throw new IllegalStateException(problem() + "; ferry will not " + what + " until it is 1");
    }
  }

  /** The one-line explanation and fix, also shown by {@code ferry status}. */
  public String problem() {
    return "fs.protected_hardlinks is 0 on " + host
        + ": the Mastodon or Redis user could hard-link any file of this system into the directories"
        + " ferry copies, and ferry runs as root; run 'sysctl -w fs.protected_hardlinks=1' and keep it"
        + " in /etc/sysctl.d (1 is the default of Debian, Ubuntu and NixOS)";
  }
}
