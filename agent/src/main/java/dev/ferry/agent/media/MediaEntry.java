package dev.ferry.agent.media;

/**
 * One path under a media root, as the manifest lists it.
 *
 * @param path relative, '/'-separated, checked by {@link MediaPaths#check}
 * @param size bytes for files, 0 otherwise
 * @param mtimeNanos last modification, nanoseconds since the epoch
 * @param mode permission bits only (e.g. 0644)
 * @param linkTarget where a symlink points, as stored; empty otherwise
 */
public record MediaEntry(String path, EntryKind kind, long size, long mtimeNanos, int mode, String linkTarget) {
  public boolean isFile() {
    return kind == EntryKind.FILE;
  }
}
