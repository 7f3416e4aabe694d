package dev.ferry.agent.media;

/** What a path under the media root is. Other kinds (sockets, devices, fifos) are never copied. */
public enum EntryKind {
  DIRECTORY,
  FILE,
  SYMLINK
}
