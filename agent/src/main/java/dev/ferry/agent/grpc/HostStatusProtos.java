package dev.ferry.agent.grpc;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.status.HostReport;
import dev.ferry.proto.v1.DiskStatus;
import dev.ferry.proto.v1.HostStatus;
import dev.ferry.proto.v1.LayoutKind;
import dev.ferry.proto.v1.LayoutPaths;
import dev.ferry.proto.v1.MediaStatus;
import dev.ferry.proto.v1.PostgresStatus;
import dev.ferry.proto.v1.UnitStatus;

/** Converts a {@link HostReport} to its wire form. */
final class HostStatusProtos {
  private HostStatusProtos() {}

  static LayoutKind kind(dev.ferry.agent.layout.LayoutKind kind) {
    return switch (kind) {
      case NONE -> LayoutKind.LAYOUT_KIND_NONE;
      case UBUNTU -> LayoutKind.LAYOUT_KIND_UBUNTU;
      case NIXOS -> LayoutKind.LAYOUT_KIND_NIXOS;
    };
  }

  static LayoutPaths paths(Layout layout) {
    return LayoutPaths.newBuilder()
        .setMastodonRoot(layout.mastodonRoot().toString())
        .setMediaRoot(layout.mediaRoot().toString())
        .setEnvFile(layout.envFile().map(Object::toString).orElse(""))
        .setSecretsDir(layout.secretsDir().map(Object::toString).orElse(""))
        .setDatabaseName(layout.database().name())
        .setMastodonUser(layout.user())
        .setMastodonGroup(layout.group())
        .setRedisUnit(layout.redisUnit())
        .setRedisDump(layout.redisDump().toString())
        .build();
  }

  static HostStatus toProto(HostReport report, String fingerprint, String agentVersion) {
    HostStatus.Builder status =
        HostStatus.newBuilder()
            .setHostname(report.hostname())
            .setOs(report.os())
            .setLayout(kind(report.layout().kind()))
            .setPaths(paths(report.layout()))
            .setMastodonVersion(report.mastodonVersion())
            .setPostgres(
                PostgresStatus.newBuilder()
                    .setServerVersion(report.postgres().serverVersion())
                    .setPgDumpVersion(report.postgres().pgDumpVersion())
                    .setPgRestoreVersion(report.postgres().pgRestoreVersion())
                    .setDatabaseName(report.postgres().databaseName())
                    .setDatabaseSizeBytes(report.postgres().databaseSizeBytes())
                    .setError(report.postgres().error()))
            .setMedia(
                MediaStatus.newBuilder()
                    .setRoot(report.media().root())
                    .setExists(report.media().exists())
                    .setFiles(report.media().files())
                    .setBytes(report.media().bytes())
                    .setError(report.media().error()))
            .setSystemdRunning(report.systemdRunning())
            .setFingerprint(fingerprint)
            .setAgentVersion(agentVersion)
            .setLocalDomain(report.localDomain())
            .setWebDomain(report.webDomain())
            .setProtectedHardlinks(report.protectedHardlinks())
            .addAllWarnings(report.warnings())
            .addAllLayoutUnits(report.layout().units());
    for (HostReport.Disk disk : report.disks()) {
      status.addDisks(
          DiskStatus.newBuilder()
              .setPurpose(disk.purpose())
              .setPath(disk.path())
              .setFreeBytes(disk.freeBytes())
              .setTotalBytes(disk.totalBytes()));
    }
    for (var unit : report.units()) {
      status.addUnits(
          UnitStatus.newBuilder()
              .setName(unit.name())
              .setActiveState(unit.activeState())
              .setSubState(unit.subState())
              .setLoadState(unit.loadState()));
    }
    return status.build();
  }
}
