package dev.ferry.agent.layout;

import java.nio.file.Path;

/**
 * How to reach the layout's database.
 *
 * @param name the database Mastodon uses ({@code mastodon_production} or {@code mastodon})
 * @param role the PostgreSQL role (and OS user, for peer auth) Mastodon connects as
 * @param socketDir the directory of the server's Unix socket
 * @param port the server's port (names the socket file)
 * @param superuser the OS user and role that may create, rename and drop databases
 */
public record DatabaseSettings(
    String name, String role, Path socketDir, int port, String superuser) {}
