package dev.ferry.agent.layout;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where a Mastodon install keeps everything ferry touches, after config overrides. See
 * research/domain.md sections 2, 3 and 7 for the defaults.
 *
 * @param units the Mastodon units in the order they start; stopped in reverse
 * @param tootctl the command that runs tootctl, before its arguments
 * @param webUrl where the web service answers locally: {@code http://host:port} or {@code
 *     unix:/path/to/socket}
 */
public record Layout(
    LayoutKind kind,
    Path mastodonRoot,
    Path mediaRoot,
    Optional<Path> envFile,
    Optional<Path> secretsDir,
    String user,
    String group,
    DatabaseSettings database,
    List<String> units,
    String redisUnit,
    Path redisDump,
    String redisUser,
    List<String> tootctl,
    String webUrl) {}
