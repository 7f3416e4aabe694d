package dev.ferry.agent.media;

/** A path the target asks the source for, and where in the file to start (0 unless resuming). */
public record FileRequest(String path, long offset) {}
