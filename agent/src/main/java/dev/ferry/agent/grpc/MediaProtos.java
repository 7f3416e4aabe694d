package dev.ferry.agent.grpc;

import dev.ferry.agent.media.EntryKind;
import dev.ferry.agent.media.MediaEntry;
import dev.ferry.agent.media.PullOptions;
import dev.ferry.agent.media.PullProgress;
import dev.ferry.agent.media.PullSummary;
import dev.ferry.proto.v1.EntryType;
import dev.ferry.proto.v1.ManifestEntry;
import dev.ferry.proto.v1.MediaPhase;
import dev.ferry.proto.v1.MediaProgress;
import dev.ferry.proto.v1.MediaSummary;
import dev.ferry.proto.v1.PullMediaOptions;

/** Converts between the media domain's records and ferry.v1 messages. */
final class MediaProtos {
  private MediaProtos() {}

  static ManifestEntry toProto(MediaEntry e) {
    return ManifestEntry.newBuilder()
        .setPath(e.path())
        .setType(switch (e.kind()) {
          case DIRECTORY -> EntryType.ENTRY_TYPE_DIRECTORY;
          case FILE -> EntryType.ENTRY_TYPE_FILE;
          case SYMLINK -> EntryType.ENTRY_TYPE_SYMLINK;
        })
        .setSize(e.size())
        .setMtimeUnixNanos(e.mtimeNanos())
        .setMode(e.mode())
        .setSymlinkTarget(e.linkTarget())
        .build();
  }

  /** @throws IllegalArgumentException for an entry of no known type */
  static MediaEntry fromProto(ManifestEntry e) {
    EntryKind kind =
        switch (e.getType()) {
          case ENTRY_TYPE_DIRECTORY -> EntryKind.DIRECTORY;
          case ENTRY_TYPE_FILE -> EntryKind.FILE;
          case ENTRY_TYPE_SYMLINK -> EntryKind.SYMLINK;
          default -> throw new IllegalArgumentException("manifest entry of unknown type: " + e.getType());
        };
    if (e.getSize() < 0) {
      throw new IllegalArgumentException("manifest entry with a negative size");
    }
    return new MediaEntry(e.getPath(), kind, e.getSize(), e.getMtimeUnixNanos(), e.getMode() & 07777, e.getSymlinkTarget());
  }

  static PullOptions fromProto(PullMediaOptions o) {
    return new PullOptions(o.getDryRun(), o.getExcludeCache(), o.getDelete());
  }

  static MediaProgress toProto(PullProgress p) {
    return MediaProgress.newBuilder()
        .setPhase(switch (p.phase()) {
          case SCANNING -> MediaPhase.MEDIA_PHASE_SCANNING;
          case TRANSFERRING -> MediaPhase.MEDIA_PHASE_TRANSFERRING;
          case DELETING -> MediaPhase.MEDIA_PHASE_DELETING;
          case FINISHING -> MediaPhase.MEDIA_PHASE_FINISHING;
        })
        .setFilesScanned(p.filesScanned())
        .setFilesPlanned(p.filesPlanned())
        .setBytesPlanned(p.bytesPlanned())
        .setFilesDone(p.filesDone())
        .setBytesDone(p.bytesDone())
        .setElapsedMillis(p.elapsedMillis())
        .build();
  }

  static MediaSummary toProto(PullSummary s) {
    return MediaSummary.newBuilder()
        .setFilesScanned(s.filesScanned())
        .setFilesSent(s.filesSent())
        .setFilesSkipped(s.filesSkipped())
        .setFilesDeleted(s.filesDeleted())
        .setBytesSent(s.bytesSent())
        .setBytesSkipped(s.bytesSkipped())
        .setFilesResumed(s.filesResumed())
        .setBytesResumed(s.bytesResumed())
        .setDirectoriesCreated(s.directoriesCreated())
        .setElapsedMillis(s.elapsedMillis())
        .setDryRun(s.dryRun())
        .addAllRefusals(s.refusals())
        .build();
  }
}
