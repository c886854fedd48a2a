"""mlplane's stack program, stack configuration, offline plan and CLI."""
