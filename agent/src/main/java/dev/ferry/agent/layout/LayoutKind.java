package dev.ferry.agent.layout;

/** The kind of Mastodon install on a host. */
public enum LayoutKind {
  NONE,
  UBUNTU,
  NIXOS;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
