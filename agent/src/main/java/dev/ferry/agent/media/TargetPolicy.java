package dev.ferry.agent.media;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutKind;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.OptionalInt;

/**
 * How received files look on the target: owned by the layout's Mastodon user and group (by name,
 * since uids differ between hosts), with the modes the layout expects, and when to fsync.
 *
 * @param fileMode the mode for every file, or empty to keep the source's
 * @param dirMode the mode for every directory, or empty to keep the source's
 * @param fsyncAtLeast files of at least this many bytes are fsynced before their rename, so that a
 *     crash cannot leave a large file under its real name without its data; smaller ones are
 *     flushed together at the end of the run (one syncfs), before success is reported
 */
public final class TargetPolicy {
  private final UserPrincipal owner;
  private final GroupPrincipal group;
  private final OptionalInt fileMode;
  private final OptionalInt dirMode;
  private final long fsyncAtLeast;
  /** The owner's and group's numbers, learnt from the first path checked by name. */
  private volatile Ids ids;

  public TargetPolicy(UserPrincipal owner, GroupPrincipal group, OptionalInt fileMode, OptionalInt dirMode, long fsyncAtLeast) {
    this.owner = owner;
    this.group = group;
    this.fileMode = fileMode;
    this.dirMode = dirMode;
    this.fsyncAtLeast = fsyncAtLeast;
  }

  public UserPrincipal owner() {
    return owner;
  }

  public GroupPrincipal group() {
    return group;
  }

  public long fsyncAtLeast() {
    return fsyncAtLeast;
  }

  public static final long DEFAULT_FSYNC_AT_LEAST = 1024 * 1024;

  /**
   * The policy for a layout. NixOS's module creates public-system as 0750 mastodon:mastodon and
   * Mastodon's processes run with that group, so files are 0640 and directories 0750; other
   * layouts keep the source's modes.
   *
   * @throws MediaException FAILED_PRECONDITION if the user or group does not exist here
   */
  public static TargetPolicy forLayout(Layout layout, FileSystem fs) throws MediaException {
    boolean nixos = layout.kind() == LayoutKind.NIXOS;
    return new TargetPolicy(
        lookupUser(fs, layout.user()),
        lookupGroup(fs, layout.group()),
        nixos ? OptionalInt.of(0640) : OptionalInt.empty(),
        nixos ? OptionalInt.of(0750) : OptionalInt.empty(),
        DEFAULT_FSYNC_AT_LEAST);
  }

  private static UserPrincipal lookupUser(FileSystem fs, String name) throws MediaException {
    try {
      return fs.getUserPrincipalLookupService().lookupPrincipalByName(name);
    } catch (UserPrincipalNotFoundException e) {
      throw missing("user", name);
    } catch (IOException e) {
      throw new MediaException(MediaException.Reason.FAILED_PRECONDITION, "cannot look up user " + name + ": " + e.getMessage());
    }
  }

  private static GroupPrincipal lookupGroup(FileSystem fs, String name) throws MediaException {
    try {
      return fs.getUserPrincipalLookupService().lookupPrincipalByGroupName(name);
    } catch (UserPrincipalNotFoundException e) {
      throw missing("group", name);
    } catch (IOException e) {
      throw new MediaException(MediaException.Reason.FAILED_PRECONDITION, "cannot look up group " + name + ": " + e.getMessage());
    }
  }

  private static MediaException missing(String what, String name) {
    return new MediaException(
        MediaException.Reason.FAILED_PRECONDITION,
        "the Mastodon " + what + " '" + name + "' does not exist on the target; create it (NixOS: enable"
            + " services.mastodon) or set mastodon." + what + " in the agent config");
  }

  int fileMode(int sourceMode) {
    return fileMode.orElse(sourceMode & 0777);
  }

  int dirMode(int sourceMode) {
    // The agent must be able to enter and fill the directories it creates.
    return dirMode.orElse(sourceMode & 0777) | 0700;
  }

  /** Sets owner and group without following a symlink. */
  void own(Path path) throws IOException {
    PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.setOwner(owner);
    view.setGroup(group);
    if (ids == null) {
      // Learn the numbers from the first path we own: until then every check in owns() resolves
      // names, and glibc reads /etc/passwd and /etc/group for each (two file opens per directory).
      java.util.Map<String, Object> numbers = Files.readAttributes(path, "unix:uid,gid", LinkOption.NOFOLLOW_LINKS);
      ids = new Ids((Integer) numbers.get("uid"), (Integer) numbers.get("gid"));
    }
  }

  /**
   * True if {@code attributes} (read with "unix:uid,gid,...") show this policy's owner and group.
   * Compares numbers: resolving names for every directory of a large tree would cost a passwd
   * lookup each. The numbers are learnt from the first path checked by name.
   */
  boolean owns(Path path, java.util.Map<String, Object> attributes) throws IOException {
    Ids known = ids;
    int uid = (Integer) attributes.get("uid");
    int gid = (Integer) attributes.get("gid");
    if (known != null) {
      return known.uid() == uid && known.gid() == gid;
    }
    java.nio.file.attribute.PosixFileAttributes named =
        Files.readAttributes(path, java.nio.file.attribute.PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    if (named.owner().equals(owner) && named.group().equals(group)) {
      ids = new Ids(uid, gid);
      return true;
    }
    return false;
  }

  private record Ids(int uid, int gid) {}
}
