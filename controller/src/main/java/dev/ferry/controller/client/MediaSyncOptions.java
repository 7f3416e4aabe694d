package dev.ferry.controller.client;

/**
 * What a media sync should do.
 *
 * @param dryRun report what would be sent and deleted; change nothing
 * @param excludeCache skip the source's cache/ (Mastodon can fetch it again; see {@link
 *     MediaClient#CACHE_REBUILD_COMMANDS})
 * @param delete remove target files the source does not have
 */
public record MediaSyncOptions(boolean dryRun, boolean excludeCache, boolean delete) {
  public static final MediaSyncOptions DEFAULT = new MediaSyncOptions(false, false, false);
}
