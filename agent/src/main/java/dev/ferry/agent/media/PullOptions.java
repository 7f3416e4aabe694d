package dev.ferry.agent.media;

/** What the controller asked for; see PullMediaOptions in media_service.proto. */
public record PullOptions(boolean dryRun, boolean excludeCache, boolean delete) {}
