package dev.ferry.controller.client;

import dev.ferry.proto.v1.MediaServiceGrpc;
import dev.ferry.proto.v1.MediaSummary;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.PullMediaOptions;
import dev.ferry.proto.v1.PullMediaRequest;
import dev.ferry.proto.v1.PullMediaResponse;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Media sync for the CLI and the migration orchestrator: asks the target agent to pull the
 * media root from the source agent. The bytes go agent to agent; this side sees only progress.
 */
public final class MediaClient {
  /**
   * What rebuilds cache/ on the target when it was not copied (research/domain.md 4.3). On NixOS
   * the command is {@code mastodon-tootctl}.
   */
  public static final List<String> CACHE_REBUILD_COMMANDS =
      List.of(
          "tootctl accounts refresh --all",
          "tootctl media refresh --days 14 --force",
          "tootctl preview_cards remove --days 14");

  /**
   * Runs one sync and waits for it. Progress arrives on this thread, a few times per second.
   *
   * @param target a connection to the target agent
   * @param source the source's address, pinned fingerprint and a ticket allowing
   *     OPERATION_READ_MEDIA for the target (from {@link TicketIssuer})
   * @throws AgentException with the target's reason (code() is the gRPC code: for example
   *     RESOURCE_EXHAUSTED for a full target disk, DATA_LOSS for a corrupt stream,
   *     PERMISSION_DENIED if the source refused the ticket, UNAVAILABLE if a link was cut)
   */
  public MediaSyncReport sync(
      AgentClient target, PeerSource source, MediaSyncOptions options, Consumer<MediaProgress> progress)
      throws AgentException {
    PullMediaRequest request =
        PullMediaRequest.newBuilder()
            .setSource(source)
            .setOptions(
                PullMediaOptions.newBuilder()
                    .setDryRun(options.dryRun())
                    .setExcludeCache(options.excludeCache())
                    .setDelete(options.delete()))
            .build();
    // A cancellable context, so that a failing progress consumer also stops the pull on the agent.
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      Iterator<PullMediaResponse> responses = MediaServiceGrpc.newBlockingStub(target.channel()).pullMedia(request);
      while (responses.hasNext()) {
        PullMediaResponse response = responses.next();
        if (response.hasProgress()) {
          progress.accept(fromProto(response.getProgress()));
        } else if (response.hasSummary()) {
          MediaSyncReport report = fromProto(response.getSummary());
          while (responses.hasNext()) {
            responses.next();
          }
          return report;
        }
      }
      throw new AgentException(target.host().name(), "INTERNAL", "the target ended the sync without a summary", null);
    } catch (StatusRuntimeException e) {
      String description = e.getStatus().getDescription();
      if (description != null && description.startsWith("source agent:")) {
        // The target is fine; it is the source, as the target saw it, that failed.
        throw new AgentException(target.host().name(), e.getStatus().getCode().name(), description, e);
      }
      throw Failures.of(target.host().name(), e);
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
  }

  private static MediaProgress fromProto(dev.ferry.proto.v1.MediaProgress p) {
    return new MediaProgress(
        p.getPhase().name().replace("MEDIA_PHASE_", "").toLowerCase(Locale.ROOT),
        p.getFilesScanned(),
        p.getFilesPlanned(),
        p.getBytesPlanned(),
        p.getFilesDone(),
        p.getBytesDone(),
        Duration.ofMillis(p.getElapsedMillis()));
  }

  private static MediaSyncReport fromProto(MediaSummary s) {
    return new MediaSyncReport(
        s.getFilesScanned(),
        s.getFilesSent(),
        s.getFilesSkipped(),
        s.getFilesDeleted(),
        s.getBytesSent(),
        s.getBytesSkipped(),
        s.getFilesResumed(),
        s.getBytesResumed(),
        s.getDirectoriesCreated(),
        Duration.ofMillis(s.getElapsedMillis()),
        s.getDryRun(),
        List.copyOf(s.getRefusalsList()));
  }
}
