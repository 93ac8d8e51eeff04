"""WP08: not implemented yet (the engine reports it as "could not decide", exit 3)."""
